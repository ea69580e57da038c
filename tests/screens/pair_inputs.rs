//! The pairing screen's picture inputs: a QR image of the pairing link
//! through each desktop path (chosen file, dropped file, pasted clipboard
//! image) and camera frames through the scanner, each ending in the
//! confirmation step; the refusals in words; the camera's denied and
//! no-camera states with the other ways still there; the camera stopped
//! when the screen is left.
use crate::fakes::{BANK_ID, KID};
use crate::harness::{app, meta, rfc_token, world, Harness, World, SERIAL2};
use crate::pairing::link;
use dioxus_html::bytes::Bytes;
use dioxus_html::input_data::keyboard_types::{Code, Key, Location, Modifiers};
use dioxus_html::{
    SerializedClipboardData, SerializedDataTransfer, SerializedDragData, SerializedFileData,
    SerializedKeyboardData,
};
use softtoken::i18n::Lang;
use softtoken::qr::decode_frame;
use softtoken::qr::QrError;
use softtoken::services::scanner::{
    BoxFuture, Camera, CameraEvent, CameraSession, FilePicker, Frame, ImageClipboard, PairInputs,
    RgbaImage, FRAME_INTERVAL,
};
use softtoken_core::stk1::link::PairLink;
use softtoken_core::Secret;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The QR code of `text`, grey, at least `side` pixels square.
fn qr_image(text: &str, side: u32) -> image::GrayImage {
    qrcode::QrCode::new(text.as_bytes())
        .unwrap()
        .render::<image::Luma<u8>>()
        .min_dimensions(side, side)
        .build()
}

fn png_of(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(qr_image(text, 300))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// Deterministic noise in `0..amplitude` (a small linear congruential
/// generator; the test needs no randomness, only texture).
fn noise(seed: &mut u32, amplitude: u32) -> u8 {
    *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    ((*seed >> 16) % amplitude) as u8
}

/// A 640 × 480 camera frame: a grey, noisy background and, when `text` is
/// given, its QR code drawn large and then scaled down to 300 pixels (as
/// the web view scales the camera picture), with noise over it too.
fn camera_frame(text: Option<&str>) -> Frame {
    let (w, h) = (640u32, 480u32);
    let mut seed = 7;
    let mut img = image::GrayImage::from_fn(w, h, |_, _| image::Luma([100 + noise(&mut seed, 60)]));
    if let Some(text) = text {
        let big = qr_image(text, 900);
        let small = image::imageops::resize(&big, 300, 300, image::imageops::FilterType::Triangle);
        image::imageops::overlay(&mut img, &small, 170, 90);
        for p in img.pixels_mut() {
            let v = i32::from(p.0[0]) + i32::from(noise(&mut seed, 40)) - 20;
            p.0[0] = v.clamp(0, 255) as u8;
        }
    }
    Frame {
        width: w,
        height: h,
        luma: img.into_raw(),
    }
}

fn the_link() -> String {
    link(BANK_ID, KID)
}

/// Whether the button with id `id` is rendered disabled.
fn button_disabled(h: &Harness, id: &str) -> bool {
    let html = h.html();
    let at = html.find(&format!(r#"id="{id}""#)).expect("the button");
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    html[start..end].contains("disabled")
}

fn asks_to_confirm(h: &Harness) -> bool {
    let html = h.html();
    html.contains(r#"id="confirm-bank""#) && html.contains("よろしいですか")
}

/// Two tokens: the app opens on the token list.
fn two_tokens() -> World {
    let mut tokens = rfc_token();
    tokens.push((meta(SERIAL2, "デモ信用金庫"), Secret::from_slice(&[7; 20])));
    world(1_700_000_000, tokens)
}

/// The app on the token list, `inputs` as the pairing screen's inputs,
/// then on the pairing screen ("add-token").
async fn pairing_screen(w: &World, inputs: PairInputs) -> Harness {
    pairing_screen_in(w, inputs, Lang::Ja).await
}

async fn pairing_screen_in(w: &World, inputs: PairInputs, lang: Lang) -> Harness {
    let mut h = app(w, lang, None).await;
    h.dom.provide_root_context(inputs);
    h.click("add-token").await;
    assert!(h.html().contains(r#"id="pair-choose""#), "{}", h.html());
    h
}

/// A file chooser that answers with a fixed path (or cancels).
struct FakePicker(Option<PathBuf>);

impl FilePicker for FakePicker {
    fn pick(&self) -> BoxFuture<'_, Option<PathBuf>> {
        let path = self.0.clone();
        Box::pin(async move { path })
    }
}

/// A file chooser the person leaves open.
struct OpenPicker;

impl FilePicker for OpenPicker {
    fn pick(&self) -> BoxFuture<'_, Option<PathBuf>> {
        Box::pin(std::future::pending())
    }
}

/// A clipboard holding a fixed image, or none.
struct FakeClipboard(Option<RgbaImage>);

impl ImageClipboard for FakeClipboard {
    fn read_image(&self) -> Result<RgbaImage, QrError> {
        self.0.clone().ok_or(QrError::NoImage)
    }
}

#[derive(Default)]
struct CameraLog {
    /// Events still to give, in order.
    script: VecDeque<CameraEvent>,
    /// When each frame was asked for.
    requests: Vec<tokio::time::Instant>,
    opened: usize,
    /// Sessions dropped (each one stops its camera).
    closed: usize,
    stop_all: usize,
}

/// A camera that plays a script of events; once the script is done it
/// waits for ever (a camera that shows nothing readable).
#[derive(Clone, Default)]
struct FakeCamera(Arc<Mutex<CameraLog>>);

impl FakeCamera {
    fn with(script: Vec<CameraEvent>) -> FakeCamera {
        let cam = FakeCamera::default();
        cam.0.lock().unwrap().script = script.into();
        cam
    }
    fn log(&self) -> std::sync::MutexGuard<'_, CameraLog> {
        self.0.lock().unwrap()
    }
}

struct FakeSession(Arc<Mutex<CameraLog>>);

impl Camera for FakeCamera {
    fn open(&self) -> Box<dyn CameraSession> {
        self.log().opened += 1;
        Box::new(FakeSession(self.0.clone()))
    }
    fn stop_all(&self) {
        self.log().stop_all += 1;
    }
}

impl CameraSession for FakeSession {
    fn next_event(&mut self) -> BoxFuture<'_, CameraEvent> {
        let next = self.0.lock().unwrap().script.pop_front();
        Box::pin(async move {
            match next {
                Some(e) => e,
                None => std::future::pending().await,
            }
        })
    }
    fn request_frame(&mut self) {
        self.0
            .lock()
            .unwrap()
            .requests
            .push(tokio::time::Instant::now());
    }
}

impl Drop for FakeSession {
    fn drop(&mut self) {
        self.0.lock().unwrap().closed += 1;
    }
}

fn camera_inputs(camera: &FakeCamera) -> PairInputs {
    PairInputs {
        camera: Some(Arc::new(camera.clone())),
        ..PairInputs::default()
    }
}

fn desktop_inputs(file: Option<PathBuf>, clipboard: Option<RgbaImage>) -> PairInputs {
    PairInputs {
        files: Some(Arc::new(FakePicker(file))),
        clipboard: Some(Arc::new(FakeClipboard(clipboard))),
        drop: true,
        ..PairInputs::default()
    }
}

/// Lets virtual time pass in steps so the scanner's frame timer fires.
async fn run_for(h: &mut Harness, total: Duration) {
    let step = Duration::from_millis(50);
    let mut passed = Duration::ZERO;
    while passed < total {
        tokio::time::sleep(step).await;
        h.settle().await;
        passed += step;
    }
}

#[test]
fn the_frame_decoder_reads_a_downscaled_noisy_frame_and_nothing_else() {
    let want = PairLink::parse(&the_link()).unwrap();
    let f = camera_frame(Some(&the_link()));
    assert_eq!(decode_frame(f.width, f.height, &f.luma), Some(want));
    // Noise alone, an empty frame, a frame shorter than it says: nothing.
    let f = camera_frame(None);
    assert_eq!(decode_frame(f.width, f.height, &f.luma), None);
    assert_eq!(decode_frame(0, 0, &[]), None);
    let f = camera_frame(Some(&the_link()));
    assert_eq!(decode_frame(f.width, f.height, &f.luma[1..]), None);
    // A frame above the size limit is not searched.
    assert_eq!(decode_frame(4000, 3000, &vec![255; 12_000_000]), None);
    // A readable code that is not a pairing link is not a link.
    let other = qr_image("https://example.invalid/", 300);
    assert_eq!(
        decode_frame(other.width(), other.height(), other.as_raw()),
        None
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_chosen_file_opens_the_confirmation() {
    let w = two_tokens();
    let dir = std::env::temp_dir().join(format!("softtoken-pick-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let qr = dir.join("qr.png");
    std::fs::write(&qr, png_of(&the_link())).unwrap();
    let mut h = pairing_screen(&w, desktop_inputs(Some(qr), None)).await;
    h.click("qr-choose").await;
    assert!(asks_to_confirm(&h), "{}", h.html());

    // A QR code of something else: said in words, nothing sent anywhere.
    let other = dir.join("other.png");
    std::fs::write(&other, png_of("https://example.invalid/")).unwrap();
    let mut h = pairing_screen(&w, desktop_inputs(Some(other), None)).await;
    h.click("qr-choose").await;
    let html = h.html();
    assert!(
        html.contains("このQRコードはトークン登録用ではありません"),
        "{html}"
    );
    assert!(!asks_to_confirm(&h));

    // Cancelling the chooser changes nothing.
    let mut h = pairing_screen(&w, desktop_inputs(None, None)).await;
    let before = h.html();
    h.click("qr-choose").await;
    assert_eq!(h.html(), before);
    assert!(w.bank.calls.lock().unwrap().is_empty());

    // While the chooser is open its button is disabled (one chooser at a
    // time) and nothing claims to be reading yet.
    let inputs = PairInputs {
        files: Some(Arc::new(OpenPicker)),
        ..PairInputs::default()
    };
    let mut h = pairing_screen(&w, inputs).await;
    assert!(!button_disabled(&h, "qr-choose"));
    h.click("qr-choose").await;
    assert!(button_disabled(&h, "qr-choose"), "{}", h.html());
    assert!(!h.html().contains(r#"id="qr-reading""#));
    let _ = std::fs::remove_dir_all(&dir);
}

fn drop_of(name: &str, bytes: Vec<u8>) -> Box<SerializedDragData> {
    // As the web view gives a drop: the file's name, size and contents.
    Box::new(SerializedDragData {
        mouse: Default::default(),
        data_transfer: SerializedDataTransfer {
            items: Vec::new(),
            files: vec![SerializedFileData {
                path: PathBuf::from(name),
                size: bytes.len() as u64,
                last_modified: 0,
                content_type: Some("image/png".into()),
                contents: Some(Bytes::from(bytes)),
            }],
            effect_allowed: "all".into(),
            drop_effect: "copy".into(),
        },
    })
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_dropped_image_opens_the_confirmation() {
    let w = two_tokens();
    let mut h = pairing_screen(&w, desktop_inputs(None, None)).await;
    assert!(
        h.html().contains("ドラッグ＆ドロップ"),
        "the screen says it takes drops"
    );
    h.fire(
        "pair-choose",
        "drop",
        drop_of("softtoken-drop-test-qr.png", png_of(&the_link())),
    );
    h.settle().await;
    assert!(asks_to_confirm(&h), "{}", h.html());

    let mut h = pairing_screen(&w, desktop_inputs(None, None)).await;
    h.fire(
        "pair-choose",
        "drop",
        drop_of("softtoken-drop-test-notes.txt", b"just some text".to_vec()),
    );
    h.settle().await;
    let html = h.html();
    assert!(
        html.contains("PNG または JPEG の画像ではありません"),
        "{html}"
    );
    assert!(html.contains(r#"id="pair-error""#));
}

fn ctrl_v() -> Box<SerializedKeyboardData> {
    Box::new(SerializedKeyboardData::new(
        Key::Character("v".into()),
        Code::KeyV,
        Location::Standard,
        false,
        Modifiers::CONTROL,
        false,
    ))
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_pasted_clipboard_image_opens_the_confirmation() {
    let w = two_tokens();
    let qr = qr_image(&the_link(), 240);
    let (width, height) = qr.dimensions();
    let rgba = image::DynamicImage::ImageLuma8(qr).to_rgba8().into_raw();
    let clip = RgbaImage {
        width,
        height,
        rgba,
    };
    // Pasting on the screen (Ctrl+V).
    let mut h = pairing_screen(&w, desktop_inputs(None, Some(clip.clone()))).await;
    h.fire("pair-choose", "paste", Box::new(SerializedClipboardData {}));
    h.settle().await;
    assert!(asks_to_confirm(&h), "{}", h.html());
    // Ctrl+V on the step itself (the web view fires no paste event outside
    // an editable element).
    let mut h = pairing_screen(&w, desktop_inputs(None, Some(clip.clone()))).await;
    h.fire("pair-choose", "keydown", ctrl_v());
    h.settle().await;
    assert!(asks_to_confirm(&h), "{}", h.html());
    // The button.
    let mut h = pairing_screen(&w, desktop_inputs(None, Some(clip))).await;
    h.click("qr-paste").await;
    assert!(asks_to_confirm(&h), "{}", h.html());

    // No image on the clipboard: a paste (of text, into the link field)
    // changes nothing; the button says there is no image.
    let mut h = pairing_screen(&w, desktop_inputs(None, None)).await;
    let before = h.html();
    h.fire("pair-choose", "paste", Box::new(SerializedClipboardData {}));
    h.settle().await;
    assert_eq!(h.html(), before);
    h.fire("pair-choose", "keydown", ctrl_v());
    h.settle().await;
    assert_eq!(h.html(), before);
    h.click("qr-paste").await;
    assert!(
        h.html().contains("クリップボードに画像がありません"),
        "{}",
        h.html()
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_camera_reads_frames_at_a_bounded_rate_until_one_holds_the_link() {
    let w = two_tokens();
    let empty = Frame {
        width: 0,
        height: 0,
        luma: Vec::new(),
    };
    let camera = FakeCamera::with(vec![
        CameraEvent::Started,
        CameraEvent::Frame(empty),
        CameraEvent::Frame(camera_frame(None)),
        CameraEvent::Frame(camera_frame(Some(&the_link()))),
    ]);
    let mut h = pairing_screen(&w, camera_inputs(&camera)).await;
    // Nothing runs before the person asks for the camera.
    assert_eq!(camera.log().opened, 0);
    h.click("scan-start").await;
    assert_eq!(camera.log().opened, 1);
    run_for(&mut h, Duration::from_secs(2)).await;
    assert!(asks_to_confirm(&h), "{}", h.html());
    let log = camera.log();
    assert_eq!(
        log.requests.len(),
        3,
        "one request per frame, one in flight"
    );
    for pair in log.requests.windows(2) {
        assert!(
            pair[1] - pair[0] >= FRAME_INTERVAL,
            "at most 4 frames a second"
        );
    }
    assert_eq!(log.closed, 1, "the camera stops once the link is read");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_denied_camera_says_so_and_leaves_the_other_ways() {
    let w = two_tokens();
    let camera = FakeCamera::with(vec![CameraEvent::Denied]);
    let mut h = pairing_screen(&w, camera_inputs(&camera)).await;
    h.click("scan-start").await;
    let html = h.html();
    assert!(html.contains(r#"id="scan-denied""#), "{html}");
    assert!(html.contains("カメラの使用が許可されていません"), "{html}");
    assert!(html.contains("「設定」"));
    // The bank list and the link field are still there, and work.
    assert!(html.contains(r#"id="pair-link""#) && html.contains(r#"id="bank-demo""#));
    h.type_into("pair-link", &the_link()).await;
    h.click("use-link").await;
    assert!(asks_to_confirm(&h), "{}", h.html());

    // No camera at all: said so, no button to try again.
    let camera = FakeCamera::with(vec![CameraEvent::NoCamera]);
    let mut h = pairing_screen(&w, camera_inputs(&camera)).await;
    h.click("scan-start").await;
    let html = h.html();
    assert!(html.contains("この端末ではカメラを使えません"), "{html}");
    assert!(!html.contains(r#"id="scan-start""#));
    assert!(html.contains(r#"id="pair-link""#));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn leaving_the_screen_stops_the_camera() {
    let w = two_tokens();
    let camera = FakeCamera::with(vec![CameraEvent::Started]);
    let mut h = pairing_screen(&w, camera_inputs(&camera)).await;
    h.click("scan-start").await;
    let html = h.html();
    assert!(html.contains(r#"id="scan-video""#), "{html}");
    assert!(html.contains("枠の中に写してください"));
    assert_eq!(camera.log().closed, 0);
    h.click("pair-back").await;
    assert!(!h.html().contains(r#"id="scan-video""#));
    {
        let log = camera.log();
        assert_eq!(log.closed, 1, "the session is dropped");
        assert!(log.stop_all >= 1, "and the web view's camera stopped");
    }

    // "Stop" stops it too, and it can be started again.
    let camera = FakeCamera::with(vec![CameraEvent::Started]);
    let mut h = pairing_screen(&w, camera_inputs(&camera)).await;
    h.click("scan-start").await;
    h.click("scan-stop").await;
    assert_eq!(camera.log().closed, 1);
    assert!(h.html().contains("カメラを止めました"));
    h.click("scan-start").await;
    assert_eq!(camera.log().opened, 2);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_inputs_and_their_refusals_are_in_english_too() {
    let w = two_tokens();
    let inputs = PairInputs {
        camera: Some(Arc::new(FakeCamera::with(vec![CameraEvent::Denied]))),
        ..desktop_inputs(None, None)
    };
    let mut h = pairing_screen_in(&w, inputs, Lang::En).await;
    assert_eq!(
        h.label_of("scan-start").as_deref(),
        Some("Scan the QR code with the camera")
    );
    assert_eq!(
        h.label_of("qr-choose").as_deref(),
        Some("Choose a QR code image")
    );
    assert_eq!(
        h.label_of("qr-paste").as_deref(),
        Some("Read a copied image")
    );
    assert!(h.html().contains("drag and drop a QR code image"));
    h.click("scan-start").await;
    assert!(
        h.html().contains("The app may not use the camera."),
        "{}",
        h.html()
    );
    h.click("qr-paste").await;
    assert!(h.html().contains("There is no image on the clipboard."));
}
