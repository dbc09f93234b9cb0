//! Hallway's benchmarking tools as a library: the bench seed (`hallway-bench-seed`), which the load
//! generator's scenarios and its tests share. None of it is part of the `hallway-server` binary.

pub mod seed;
