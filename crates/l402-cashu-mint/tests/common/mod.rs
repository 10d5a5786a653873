#![allow(dead_code)]
pub mod hostile;
pub mod peers;
