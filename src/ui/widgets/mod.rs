//! Small building blocks shared by the screens (no screen logic).
pub mod button;
pub mod code;
pub mod countdown;
pub mod loading;
pub mod status;

pub use button::Button;
pub use code::{digits_label, shows_next, CodeDisplay, NextCodeDisplay, NEXT_CODE_SECONDS};
pub use countdown::{Countdown, COUNTDOWN_CSS};
pub use loading::Loading;
pub use status::{ClockWarning, StateLine};
