//! Bank reference server for softtoken (issue 3, in progress).
pub mod web;
