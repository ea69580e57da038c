//! The pairing screen's picture inputs, all ending in [`crate::qr`] and the
//! bank directory:
//!
//! * phones: the camera of the web view (`getUserMedia`), grey frames sent
//!   to Rust at most [`FRAME_INTERVAL`] apart with one frame in flight,
//!   decoded by [`crate::qr::decode_frame`] ([`WebviewCamera`]);
//! * the desktop simulator: a chosen file ([`FilePicker`], the system file
//!   chooser through `rfd`), a file dropped on the screen
//!   ([`resolve_dropped`]) and an image from the clipboard
//!   ([`ImageClipboard`], `arboard`).
//!
//! Which inputs a build offers is [`PairInputs`]; the screen takes it from
//! the Dioxus context when one is provided (tests) and from
//! [`PairInputs::platform`] otherwise. Decoding always runs on tokio's
//! blocking pool, never on the UI thread, and files are read with the size
//! limit of [`crate::qr::MAX_IMAGE_BYTES`].
use crate::qr::{self, QrError, MAX_IMAGE_BYTES};
use crate::services::pairing::{resolve_pair_link, PairingError, Target};
use crate::services::Services;
use dioxus::html::FileData;
use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Shortest time between two camera frames asked of the web view (at most
/// four frames a second).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(250);

/// Longest side of the frames the web view sends, in pixels (it scales the
/// camera picture down to this before turning it grey).
pub const FRAME_SIDE: u32 = 720;
const _: () = assert!(FRAME_SIDE <= qr::MAX_FRAME_SIDE);

/// A boxed future, as the input traits return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// An RGBA picture (4 bytes a pixel, rows top to bottom), as the
/// clipboard gives it.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbaImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes.
    pub rgba: Vec<u8>,
}

impl std::fmt::Debug for RgbaImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbaImage({}×{})", self.width, self.height)
    }
}

/// One grey camera frame (`width × height` bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// One luma byte per pixel, rows top to bottom.
    pub luma: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}×{})", self.width, self.height)
    }
}

/// The system file chooser.
pub trait FilePicker: Send + Sync {
    /// Asks the person for one PNG or JPEG file; `None` when cancelled or
    /// when there is no chooser.
    fn pick(&self) -> BoxFuture<'_, Option<PathBuf>>;
}

/// Images on the system clipboard.
pub trait ImageClipboard: Send + Sync {
    /// The image on the clipboard. Blocking (called on the blocking pool).
    /// Errors: [`QrError::NoImage`] when the clipboard holds none,
    /// [`QrError::Unavailable`] when it cannot be reached.
    fn read_image(&self) -> Result<RgbaImage, QrError>;
}

/// What the camera reports to the scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CameraEvent {
    /// The camera runs and shows its picture; frames may be asked for.
    Started,
    /// The frame asked for last.
    Frame(Frame),
    /// The person (or the system settings) refused the camera.
    Denied,
    /// This device has no camera the app can use.
    NoCamera,
    /// The camera could not be started for another reason (busy, failed).
    Failed,
    /// The camera stopped by itself (the app went to the background, the
    /// picture was removed).
    Stopped,
}

/// A running camera. Dropping it stops the camera.
pub trait CameraSession {
    /// The next event; after `Denied`, `NoCamera`, `Failed` or `Stopped`
    /// there are no more.
    fn next_event(&mut self) -> BoxFuture<'_, CameraEvent>;
    /// Asks for one frame, answered by one [`CameraEvent::Frame`].
    fn request_frame(&mut self);
}

/// A camera that can be started.
pub trait Camera: Send + Sync {
    /// Starts the camera (the system asks for permission the first time)
    /// showing its picture in the `<video>` element with id [`VIDEO_ID`].
    fn open(&self) -> Box<dyn CameraSession>;
    /// Stops any camera this app started, wherever it is. Called when the
    /// scanner leaves the screen, in addition to dropping the session.
    fn stop_all(&self);
}

/// The id of the `<video>` element the camera picture is shown in.
pub const VIDEO_ID: &str = "scan-video";

/// The picture inputs of the pairing screen.
#[derive(Clone, Default)]
pub struct PairInputs {
    /// The camera scanner (phones).
    pub camera: Option<Arc<dyn Camera>>,
    /// The file chooser (desktop simulator).
    pub files: Option<Arc<dyn FilePicker>>,
    /// Images from the clipboard (desktop simulator).
    pub clipboard: Option<Arc<dyn ImageClipboard>>,
    /// Images dropped on the screen (desktop simulator).
    pub drop: bool,
    /// The typed file path field (desktop simulator, for QA scripts).
    pub typed_path: bool,
}

impl PairInputs {
    /// The inputs of this build: the camera on phones; the file chooser,
    /// drop, clipboard and the typed path on the desktop simulator.
    pub fn platform() -> PairInputs {
        #[cfg(feature = "desktop")]
        {
            PairInputs {
                camera: None,
                files: Some(Arc::new(SystemFilePicker)),
                clipboard: Some(Arc::new(SystemClipboard)),
                drop: true,
                typed_path: true,
            }
        }
        #[cfg(all(feature = "mobile", not(feature = "desktop")))]
        {
            PairInputs {
                camera: Some(Arc::new(WebviewCamera)),
                ..PairInputs::default()
            }
        }
        #[cfg(not(any(feature = "desktop", feature = "mobile")))]
        {
            PairInputs {
                typed_path: true,
                ..PairInputs::default()
            }
        }
    }
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, QrError> + Send + 'static,
) -> Result<T, QrError> {
    // A join error is a panic in a decoder: the picture cannot be read.
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| QrError::Damaged)?
}

/// Reads at most [`MAX_IMAGE_BYTES`] of a regular file.
fn read_limited(path: &Path) -> Result<Vec<u8>, QrError> {
    let file = std::fs::File::open(path).map_err(|e| QrError::Io(e.kind()))?;
    let meta = file.metadata().map_err(|e| QrError::Io(e.kind()))?;
    if !meta.is_file() {
        return Err(QrError::NotAnImage);
    }
    if meta.len() > MAX_IMAGE_BYTES as u64 {
        return Err(QrError::TooLarge);
    }
    let mut bytes = Vec::new();
    file.take(MAX_IMAGE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| QrError::Io(e.kind()))?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(QrError::TooLarge);
    }
    Ok(bytes)
}

/// Reads the QR image file at `path` (chosen or typed) and checks its link
/// against the directory.
pub async fn resolve_image_file(
    services: &Services,
    path: PathBuf,
) -> Result<Target, PairingError> {
    let link = blocking(move || qr::decode_image(&read_limited(&path)?)).await?;
    resolve_pair_link(services, &link)
}

/// Reads the first of the files dropped on the screen, as Dioxus gives
/// them (`DragEvent::files()`), and checks its link.
///
/// A file that is on disk (the desktop simulator) is read from its path
/// with the size limit; other file data only after its stated size was
/// checked, and its bytes are checked again.
pub async fn resolve_dropped(
    services: &Services,
    files: Vec<FileData>,
) -> Result<Target, PairingError> {
    let file = files.into_iter().next().ok_or(QrError::NoImage)?;
    let path = file.path();
    let link = if path.is_file() {
        blocking(move || qr::decode_image(&read_limited(&path)?)).await?
    } else {
        if file.size() > MAX_IMAGE_BYTES as u64 {
            return Err(QrError::TooLarge.into());
        }
        let bytes = file
            .read_bytes()
            .await
            .map_err(|_| QrError::Io(std::io::ErrorKind::Other))?;
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(QrError::TooLarge.into());
        }
        blocking(move || qr::decode_image(&bytes)).await?
    };
    resolve_pair_link(services, &link)
}

/// Reads the image on `clipboard` and checks its link.
pub async fn resolve_clipboard(
    services: &Services,
    clipboard: Arc<dyn ImageClipboard>,
) -> Result<Target, PairingError> {
    let link = blocking(move || {
        let img = clipboard.read_image()?;
        qr::decode_rgba(img.width, img.height, &img.rgba)
    })
    .await?;
    resolve_pair_link(services, &link)
}

/// Decodes one camera frame; `None` when it holds no pairing link (the
/// scanner tries the next one), else the link checked against the
/// directory.
pub async fn resolve_frame(
    services: &Services,
    frame: Frame,
) -> Option<Result<Target, PairingError>> {
    let link = tokio::task::spawn_blocking(move || {
        qr::decode_frame(frame.width, frame.height, &frame.luma)
    })
    .await
    .ok()??;
    Some(resolve_pair_link(services, &link))
}

/// The system file chooser through `rfd` (XDG desktop portal, zenity as
/// the fallback; the same backend dioxus-desktop uses for file inputs).
#[cfg(feature = "desktop")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemFilePicker;

#[cfg(feature = "desktop")]
impl FilePicker for SystemFilePicker {
    fn pick(&self) -> BoxFuture<'_, Option<PathBuf>> {
        Box::pin(async {
            rfd::AsyncFileDialog::new()
                .add_filter("PNG / JPEG", &["png", "jpg", "jpeg", "PNG", "JPG", "JPEG"])
                .pick_file()
                .await
                .map(|f| f.path().to_path_buf())
        })
    }
}

/// The system clipboard through `arboard` (X11 or macOS/Windows natively).
#[cfg(feature = "desktop")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClipboard;

#[cfg(feature = "desktop")]
impl ImageClipboard for SystemClipboard {
    fn read_image(&self) -> Result<RgbaImage, QrError> {
        let mut cb = arboard::Clipboard::new().map_err(|_| QrError::Unavailable)?;
        // A clipboard holding text answers the image request with another
        // type, which arboard reports as `Unknown`: that, too, is "no image".
        let img = cb.get_image().map_err(|e| match e {
            arboard::Error::ClipboardNotSupported | arboard::Error::ClipboardOccupied => {
                QrError::Unavailable
            }
            arboard::Error::ConversionFailure => QrError::Damaged,
            _ => QrError::NoImage,
        })?;
        let side = |n: usize| u32::try_from(n).map_err(|_| QrError::TooLarge);
        Ok(RgbaImage {
            width: side(img.width)?,
            height: side(img.height)?,
            rgba: img.bytes.into_owned(),
        })
    }
}

/// The web view's camera (`navigator.mediaDevices.getUserMedia`, back
/// camera preferred, no audio).
///
/// The script ([`CAMERA_JS`]) shows the picture in the `<video>` element
/// [`VIDEO_ID`] and answers each frame request with the picture scaled to
/// at most [`FRAME_SIDE`] on its longer side, in grey, base64-encoded. It
/// stops the camera when asked, when the page is hidden and when the
/// video element leaves the page.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebviewCamera;

impl Camera for WebviewCamera {
    fn open(&self) -> Box<dyn CameraSession> {
        let js = CAMERA_JS
            .replace("__SIDE__", &FRAME_SIDE.to_string())
            .replace("__VIDEO__", VIDEO_ID);
        Box::new(WebviewSession {
            eval: dioxus::document::eval(&js),
            done: false,
        })
    }

    fn stop_all(&self) {
        let _ = dioxus::document::eval(STOP_JS);
    }
}

struct WebviewSession {
    eval: dioxus::document::Eval,
    done: bool,
}

/// A message of [`CAMERA_JS`].
#[derive(serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum JsMessage {
    Started,
    Frame { w: u32, h: u32, luma: String },
    Denied,
    NoCamera,
    Failed,
    Stopped,
}

/// The event of one message of the script.
fn camera_event(msg: JsMessage) -> CameraEvent {
    use base64::Engine as _;
    match msg {
        JsMessage::Started => CameraEvent::Started,
        JsMessage::Frame { w, h, luma } => {
            // Bounded before decoding: the base64 of the largest frame.
            let limit = qr::MAX_FRAME_PIXELS.div_ceil(3) * 4;
            let luma = if luma.len() as u64 <= limit {
                base64::engine::general_purpose::STANDARD
                    .decode(luma.as_bytes())
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            CameraEvent::Frame(Frame {
                width: w,
                height: h,
                luma,
            })
        }
        JsMessage::Denied => CameraEvent::Denied,
        JsMessage::NoCamera => CameraEvent::NoCamera,
        JsMessage::Failed => CameraEvent::Failed,
        JsMessage::Stopped => CameraEvent::Stopped,
    }
}

impl CameraSession for WebviewSession {
    fn next_event(&mut self) -> BoxFuture<'_, CameraEvent> {
        Box::pin(async move {
            if self.done {
                return CameraEvent::Stopped;
            }
            let event = match self.eval.recv::<JsMessage>().await {
                Ok(msg) => camera_event(msg),
                // The page went away, or a message of another shape.
                Err(_) => CameraEvent::Failed,
            };
            self.done = !matches!(event, CameraEvent::Started | CameraEvent::Frame(_));
            event
        })
    }

    fn request_frame(&mut self) {
        let _ = self.eval.send("frame");
    }
}

impl Drop for WebviewSession {
    fn drop(&mut self) {
        let _ = self.eval.send("stop");
    }
}

/// Stops the camera of [`CAMERA_JS`], if one runs.
const STOP_JS: &str = "if (window.__softtokenScanStop) { window.__softtokenScanStop(); }";

/// The camera script, run by `document::eval` (`dioxus.send` /
/// `dioxus.recv` are its channel). `__SIDE__` and `__VIDEO__` are replaced
/// by [`FRAME_SIDE`] and [`VIDEO_ID`].
const CAMERA_JS: &str = include_str!("scanner.js");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_messages_become_events_with_bounded_frames() {
        let msg = |j: &str| camera_event(serde_json::from_str(j).unwrap());
        assert_eq!(msg(r#"{"kind":"started"}"#), CameraEvent::Started);
        assert_eq!(msg(r#"{"kind":"denied"}"#), CameraEvent::Denied);
        assert_eq!(msg(r#"{"kind":"no-camera"}"#), CameraEvent::NoCamera);
        assert_eq!(msg(r#"{"kind":"stopped"}"#), CameraEvent::Stopped);
        // "AAEC/w==" is the bytes 0, 1, 2, 255.
        assert_eq!(
            msg(r#"{"kind":"frame","w":2,"h":2,"luma":"AAEC/w=="}"#),
            CameraEvent::Frame(Frame {
                width: 2,
                height: 2,
                luma: vec![0, 1, 2, 255]
            })
        );
        // Over-long or broken base64 gives an empty frame, which decodes
        // to nothing.
        let long = format!(
            r#"{{"kind":"frame","w":1,"h":1,"luma":"{}"}}"#,
            "A".repeat(4 * 1024 * 1024)
        );
        let CameraEvent::Frame(f) = msg(&long) else {
            panic!("a frame")
        };
        assert!(f.luma.is_empty());
        let CameraEvent::Frame(f) = msg(r#"{"kind":"frame","w":1,"h":1,"luma":"!!"}"#) else {
            panic!("a frame")
        };
        assert!(f.luma.is_empty());
        assert!(serde_json::from_str::<JsMessage>(r#"{"kind":"other"}"#).is_err());
    }

    #[test]
    fn the_script_is_filled_in_and_bounded() {
        let js = CAMERA_JS
            .replace("__SIDE__", &FRAME_SIDE.to_string())
            .replace("__VIDEO__", VIDEO_ID);
        assert!(!js.contains("__SIDE__") && !js.contains("__VIDEO__"));
        assert!(js.contains("const SIDE = 720;"));
        assert!(js.contains("getElementById('scan-video')"));
        assert!(js.contains("audio: false"));
    }

    #[test]
    fn files_are_read_with_the_size_limit() {
        let dir = std::env::temp_dir().join(format!("softtoken-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.png");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_IMAGE_BYTES as u64 + 1)
            .unwrap();
        assert_eq!(read_limited(&big), Err(QrError::TooLarge));
        assert_eq!(read_limited(&dir), Err(QrError::NotAnImage));
        assert!(matches!(
            read_limited(&dir.join("missing.png")),
            Err(QrError::Io(std::io::ErrorKind::NotFound))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
