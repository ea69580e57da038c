//! Bank reference server (issue 3, in progress).
