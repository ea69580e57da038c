//! Reading a pairing link from an image of its QR code (pure Rust).
use std::path::Path;
use thiserror::Error;

/// Why no link could be read from an image.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum QrError {
    /// The file could not be read or is not a PNG/JPEG image.
    #[error("cannot open image: {0}")]
    Image(String),
    /// No readable QR code in the image.
    #[error("no QR code found in the image")]
    NotFound,
}

/// Decodes the first QR code found in encoded image bytes (PNG or JPEG).
///
/// Only the PNG and JPEG decoders are ever run: the web view's `image`
/// dependency compiles in every decoder of the crate, and an image of any
/// other format (GIF, TIFF, AVIF, …) is refused before decoding.
pub fn decode_bytes(bytes: &[u8]) -> Result<String, QrError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (image::ImageFormat::Png | image::ImageFormat::Jpeg)) => f,
        Ok(_) => return Err(QrError::Image("not a PNG or JPEG image".to_owned())),
        Err(e) => return Err(QrError::Image(e.to_string())),
    };
    let img = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| QrError::Image(e.to_string()))?;
    let luma = img.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    for grid in prepared.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            return Ok(text);
        }
    }
    Err(QrError::NotFound)
}

/// Decodes the first QR code in the image file at `path`.
pub fn decode_file(path: &Path) -> Result<String, QrError> {
    let bytes = std::fs::read(path).map_err(|e| QrError::Image(e.to_string()))?;
    decode_bytes(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_png_and_jpeg_are_decoded() {
        // A 1×1 GIF and a BMP header: formats the `image` crate could
        // decode, refused before any decoder runs.
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(
            decode_bytes(gif),
            Err(QrError::Image("not a PNG or JPEG image".to_owned()))
        );
        let mut bmp = b"BM".to_vec();
        bmp.resize(64, 0);
        assert!(matches!(decode_bytes(&bmp), Err(QrError::Image(_))));
        // A PNG without a QR code is decoded, and has none.
        let mut png = Vec::new();
        image::DynamicImage::new_luma8(8, 8)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(decode_bytes(&png), Err(QrError::NotFound));
    }
}
