//! Small building blocks shared by the screens.
pub mod code;
pub mod countdown;
pub mod state;

pub use code::{digits_label, CodeDisplay};
pub use countdown::{Countdown, COUNTDOWN_CSS};
pub use state::{ClockWarning, StateLine};
