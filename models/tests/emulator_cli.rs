//! `mechml emulate` (placeholder, filled below).
