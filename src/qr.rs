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
pub fn decode_bytes(bytes: &[u8]) -> Result<String, QrError> {
    let img = image::load_from_memory(bytes).map_err(|e| QrError::Image(e.to_string()))?;
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
