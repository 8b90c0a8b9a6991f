//! Bringing the loopback interface up, which a freshly booted guest kernel
//! leaves down.

use super::{SysResult, check_int};

/// `ioctl(sock, SIOCSIFFLAGS, {"lo", flags | IFF_UP})`: netdevice(7).
pub fn loopback_up() -> SysResult<i64> {
    // SAFETY: a plain socket(2) call.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return Err(super::last_errno());
    }
    // SAFETY: ifreq is plain data; all-zero is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags into `req`.
    let got = check_int(unsafe { libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) });
    let result = got.and_then(|_| {
        // SAFETY: the union member for flags, set by SIOCGIFFLAGS above.
        unsafe { req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short };
        // SAFETY: SIOCSIFFLAGS reads `req`.
        check_int(unsafe { libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) })
    });
    // SAFETY: closing the socket made above.
    unsafe { libc::close(sock) };
    result
}
