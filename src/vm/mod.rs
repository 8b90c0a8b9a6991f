//! Booting kernels: Debian cloud kernels fetched from Debian's archive (or
//! a user's own image) run the suite in qemu guests, next to the host.

pub mod debver;
pub mod fetch;
pub mod guest;
pub mod guestbin;
pub mod initramfs;
pub mod matrix;
pub mod qemu;
pub mod spec;
