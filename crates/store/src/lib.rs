//! Token storage (issue 4, in progress).
