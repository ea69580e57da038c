//! Reading a pairing link from the picture of its QR code (pure Rust, no
//! UI, no I/O): encoded images (PNG or JPEG: a chosen or dropped file),
//! RGBA pixels (an image from the clipboard) and grey camera frames all end
//! in the same QR decoder (`rqrr`) and the same link check
//! ([`PairLink::parse`]).
//!
//! Every entry point bounds its input before decoding: the encoded size,
//! each side and the pixel count (the `image` decoders are given the same
//! limits, so a small file that claims huge dimensions is refused before
//! anything is allocated). Large pictures are decoded at a reduced size
//! first, then at full size only if that found nothing.
use softtoken_core::stk1::link::PairLink;
use std::io::Cursor;
use thiserror::Error;

/// Largest encoded image accepted (file, drop), in bytes.
pub const MAX_IMAGE_BYTES: usize = 12 * 1024 * 1024;
/// Largest width or height of an image accepted, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 8192;
/// Largest image accepted, in pixels (a 24-megapixel photo).
pub const MAX_IMAGE_PIXELS: u64 = 24_000_000;
/// Largest width or height of a camera frame, in pixels.
pub const MAX_FRAME_SIDE: u32 = 1920;
/// Largest camera frame, in pixels (1920 × 1080).
pub const MAX_FRAME_PIXELS: u64 = 1920 * 1080;
/// Pictures whose longer side is above this are first searched at this
/// size (a QR code that fills a fair part of a photo is still readable).
const SEARCH_SIDE: u32 = 1600;
/// Memory the image decoder may allocate (a 24-megapixel RGB image and
/// its grey copy fit).
const MAX_DECODER_ALLOC: u64 = 128 * 1024 * 1024;

/// Why no pairing link could be read from a picture. Texts carry no
/// content of the picture or of the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum QrError {
    /// The file could not be read.
    #[error("cannot read the image file ({0})")]
    Io(std::io::ErrorKind),
    /// Larger than the limits ([`MAX_IMAGE_BYTES`], [`MAX_IMAGE_SIDE`],
    /// [`MAX_IMAGE_PIXELS`]).
    #[error("the image is too large")]
    TooLarge,
    /// Not a PNG or JPEG image (another format, or not an image at all).
    #[error("not a PNG or JPEG image")]
    NotAnImage,
    /// A PNG or JPEG that the decoder could not read (damaged, truncated).
    #[error("the image is damaged and cannot be read")]
    Damaged,
    /// No readable QR code in the picture.
    #[error("no QR code found in the image")]
    NotFound,
    /// A QR code was read, but it holds no `softtoken://pair` link.
    #[error("the QR code is not a softtoken pairing link")]
    NotALink,
    /// Nothing to read: no image on the clipboard, no file in a drop.
    #[error("no image was given")]
    NoImage,
    /// The clipboard or the file chooser of this system cannot be used.
    #[error("the system's clipboard or file chooser is not available")]
    Unavailable,
}

/// Decodes the pairing link in the QR code of an encoded image (PNG or
/// JPEG).
///
/// Only the PNG and JPEG decoders are ever run, whatever the `image`
/// crate was built with: any other format is [`QrError::NotAnImage`]
/// before decoding. The size limits give [`QrError::TooLarge`].
pub fn decode_image(bytes: &[u8]) -> Result<PairLink, QrError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(QrError::TooLarge);
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (image::ImageFormat::Png | image::ImageFormat::Jpeg)) => f,
        _ => return Err(QrError::NotAnImage),
    };
    let reader = |bytes| {
        let mut r = image::ImageReader::with_format(Cursor::new(bytes), format);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_IMAGE_SIDE);
        limits.max_image_height = Some(MAX_IMAGE_SIDE);
        limits.max_alloc = Some(MAX_DECODER_ALLOC);
        r.limits(limits);
        r
    };
    let (w, h) = reader(bytes).into_dimensions().map_err(image_error)?;
    check_size(w, h, MAX_IMAGE_SIDE, MAX_IMAGE_PIXELS)?;
    let luma = reader(bytes).decode().map_err(image_error)?.into_luma8();
    let (w, h) = luma.dimensions();
    decode_luma(w, h, luma.as_raw())
}

/// Decodes the pairing link in an RGBA picture (`width × height` pixels,
/// 4 bytes each, rows top to bottom), such as an image from the clipboard.
///
/// Errors: [`QrError::TooLarge`] beyond the image limits,
/// [`QrError::Damaged`] when `rgba` does not have the stated size.
pub fn decode_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<PairLink, QrError> {
    check_size(width, height, MAX_IMAGE_SIDE, MAX_IMAGE_PIXELS)?;
    if rgba.len() as u64 != u64::from(width) * u64::from(height) * 4 {
        return Err(QrError::Damaged);
    }
    let luma: Vec<u8> = rgba
        .chunks_exact(4)
        .map(|p| grey(p[0], p[1], p[2]))
        .collect();
    decode_luma(width, height, &luma)
}

/// Decodes the pairing link in one grey camera frame (`width × height`
/// bytes, one per pixel, rows top to bottom).
///
/// `None` when the frame is empty, larger than [`MAX_FRAME_SIDE`] /
/// [`MAX_FRAME_PIXELS`], not of the stated size, or has no QR code holding
/// a pairing link: the scanner then simply tries the next frame.
pub fn decode_frame(width: u32, height: u32, luma: &[u8]) -> Option<PairLink> {
    check_size(width, height, MAX_FRAME_SIDE, MAX_FRAME_PIXELS).ok()?;
    if luma.len() as u64 != u64::from(width) * u64::from(height) {
        return None;
    }
    decode_luma(width, height, luma).ok()
}

/// ITU-R BT.601 luma of an sRGB pixel, in integers.
fn grey(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 77 + u32::from(g) * 150 + u32::from(b) * 29) >> 8) as u8
}

fn check_size(w: u32, h: u32, max_side: u32, max_pixels: u64) -> Result<(), QrError> {
    if w == 0 || h == 0 {
        return Err(QrError::NotFound);
    }
    if w > max_side || h > max_side || u64::from(w) * u64::from(h) > max_pixels {
        return Err(QrError::TooLarge);
    }
    Ok(())
}

fn image_error(e: image::ImageError) -> QrError {
    match e {
        image::ImageError::Limits(_) => QrError::TooLarge,
        image::ImageError::Unsupported(_) => QrError::NotAnImage,
        _ => QrError::Damaged,
    }
}

/// Searches a grey picture whose size the caller has checked
/// (`luma.len() == w × h`): at a reduced size first when it is large.
fn decode_luma(w: u32, h: u32, luma: &[u8]) -> Result<PairLink, QrError> {
    let longer = w.max(h);
    if longer > SEARCH_SIDE {
        let factor = longer.div_ceil(SEARCH_SIDE);
        let (sw, sh, small) = shrink(w, h, luma, factor);
        match search(sw, sh, &small) {
            Err(QrError::NotFound) => {}
            found => return found,
        }
    }
    search(w, h, luma)
}

/// Box-filtered copy `factor` times smaller on each side (at least 1×1).
fn shrink(w: u32, h: u32, luma: &[u8], factor: u32) -> (u32, u32, Vec<u8>) {
    let (sw, sh) = ((w / factor).max(1), (h / factor).max(1));
    let (f, wu) = (factor as usize, w as usize);
    let mut out = Vec::with_capacity(sw as usize * sh as usize);
    for y in 0..sh as usize {
        for x in 0..sw as usize {
            let mut sum = 0u32;
            for dy in 0..f {
                let row = (y * f + dy) * wu + x * f;
                sum += luma[row..row + f]
                    .iter()
                    .map(|&v| u32::from(v))
                    .sum::<u32>();
            }
            out.push((sum / (factor * factor)) as u8);
        }
    }
    (sw, sh, out)
}

/// Runs `rqrr` over the picture; the first code holding a pairing link
/// wins (a picture may also show other codes).
fn search(w: u32, h: u32, luma: &[u8]) -> Result<PairLink, QrError> {
    let wu = w as usize;
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(wu, h as usize, |x, y| {
        luma.get(y * wu + x).copied().unwrap_or(255)
    });
    let mut read_any = false;
    for grid in prepared.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            read_any = true;
            if let Ok(link) = PairLink::parse(&text) {
                return Ok(link);
            }
        }
    }
    Err(if read_any {
        QrError::NotALink
    } else {
        QrError::NotFound
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "softtoken://pair?v=1&bank=demo&url=https%3A%2F%2Ftoken.demo.invalid&kid=k1";

    fn png(img: &image::DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    fn qr_luma(text: &str, side: u32) -> image::GrayImage {
        qrcode::QrCode::new(text.as_bytes())
            .unwrap()
            .render::<image::Luma<u8>>()
            .min_dimensions(side, side)
            .build()
    }

    #[test]
    fn only_png_and_jpeg_are_decoded() {
        // A 1×1 GIF and a BMP header: formats the `image` crate could
        // decode, refused before any decoder runs.
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(decode_image(gif), Err(QrError::NotAnImage));
        let mut bmp = b"BM".to_vec();
        bmp.resize(64, 0);
        assert_eq!(decode_image(&bmp), Err(QrError::NotAnImage));
        assert_eq!(decode_image(b"not an image"), Err(QrError::NotAnImage));
        // A PNG without a QR code is decoded, and has none.
        let blank = image::DynamicImage::new_luma8(8, 8);
        assert_eq!(decode_image(&png(&blank)), Err(QrError::NotFound));
        // A truncated PNG is damaged.
        let qr = png(&image::DynamicImage::ImageLuma8(qr_luma(LINK, 200)));
        assert_eq!(decode_image(&qr[..qr.len() / 2]), Err(QrError::Damaged));
    }

    #[test]
    fn a_png_and_a_jpeg_of_a_link_are_read() {
        let img = image::DynamicImage::ImageLuma8(qr_luma(LINK, 300));
        let want = PairLink::parse(LINK).unwrap();
        assert_eq!(decode_image(&png(&img)), Ok(want.clone()));
        let mut jpeg = Vec::new();
        img.to_rgb8()
            .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .unwrap();
        assert_eq!(decode_image(&jpeg), Ok(want));
    }

    #[test]
    fn a_code_that_is_not_a_pairing_link_is_told_apart() {
        let img = image::DynamicImage::ImageLuma8(qr_luma("https://example.invalid/", 200));
        assert_eq!(decode_image(&png(&img)), Err(QrError::NotALink));
    }

    /// The PNG chunk checksum (CRC-32, ISO-HDLC).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn sizes_beyond_the_limits_are_refused_before_decoding() {
        assert_eq!(
            decode_image(&vec![0u8; MAX_IMAGE_BYTES + 1]),
            Err(QrError::TooLarge)
        );
        // A PNG header claiming 100 000 × 100 000 pixels, a few bytes long.
        let mut bomb = png(&image::DynamicImage::new_luma8(1, 1));
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(decode_image(&bomb), Err(QrError::TooLarge));
        // 6000 × 6000 is within each side but above the pixel count.
        assert_eq!(decode_rgba(6000, 6000, &[]), Err(QrError::TooLarge));
        assert_eq!(decode_frame(1921, 10, &vec![0; 19210]), None);
    }

    #[test]
    fn rgba_pixels_must_have_the_stated_size() {
        let luma = qr_luma(LINK, 200);
        let (w, h) = luma.dimensions();
        let rgba = image::DynamicImage::ImageLuma8(luma).to_rgba8().into_raw();
        assert_eq!(decode_rgba(w, h, &rgba), Ok(PairLink::parse(LINK).unwrap()));
        assert_eq!(decode_rgba(w, h, &rgba[4..]), Err(QrError::Damaged));
    }

    #[test]
    fn a_large_picture_is_searched_small_first_and_full_size_then() {
        // A small code in a large white picture: too small to survive the
        // reduced search, found at full size.
        let code = qr_luma(LINK, 120);
        let mut big = image::GrayImage::from_pixel(4000, 3000, image::Luma([255]));
        image::imageops::overlay(&mut big, &code, 1900, 1400);
        let (w, h) = big.dimensions();
        assert_eq!(
            decode_luma(w, h, big.as_raw()),
            Ok(PairLink::parse(LINK).unwrap())
        );
    }
}
