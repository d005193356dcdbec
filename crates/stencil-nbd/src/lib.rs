//! NBD (network block device) server, fixed newstyle, over a block-device trait.
//!
//! The protocol server arrives with the instances work; the crate exists now so the dependency
//! rules of the workspace are fixed from the start.
