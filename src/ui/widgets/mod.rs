//! Small building blocks shared by the screens (no screen logic).
pub mod button;
pub mod code;
pub mod countdown;
pub mod loading;
pub mod status;

pub use button::Button;
pub use code::{digits_label, CodeDisplay};
pub use countdown::{Countdown, COUNTDOWN_CSS};
pub use loading::Loading;
pub use status::{ClockWarning, StateLine};
