//! STK1 HTTP client (in progress).
