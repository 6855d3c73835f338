//! The fault: decoding a `siginfo_t` (from a signal-delivery-stop, or read
//! out of the kernel's signal frame on a thread's stack) into the
//! snapshot's signal description.

use crate::process::signals;
use crate::snapshot::{Addr, SignalInfo};

/// The fields of an x86-64 Linux `siginfo_t` that ptsnap uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawSigInfo {
    pub signo: i32,
    pub code: i32,
    /// `si_addr` for faults; for signals sent by a process the same bytes
    /// hold `si_pid` and `si_uid`.
    pub union_word: u64,
}

impl RawSigInfo {
    pub const SIZE: usize = 128;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let i32_at = |o: usize| i32::from_le_bytes(b[o..o + 4].try_into().unwrap_or_default());
        RawSigInfo {
            signo: i32_at(0),
            code: i32_at(8),
            union_word: u64::from_le_bytes(b[16..24].try_into().unwrap_or_default()),
        }
    }

    pub fn describe(&self, source: &str) -> SignalInfo {
        let address_populated = signals::has_fault_address(self.signo, self.code);
        let address = address_populated.then_some(self.union_word);
        let sent_by_kill = signals::sent_by_kill(self.code);
        SignalInfo {
            num: self.signo,
            name: signals::name(self.signo),
            code: self.code,
            code_name: signals::code_name(self.signo, self.code).map(str::to_string),
            address: address.map(Addr),
            address_populated,
            reason: signals::reason(self.signo, self.code, address),
            sent_by_kill,
            sender_pid: sent_by_kill.then_some(self.union_word as u32 as i32),
            source: source.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_segv() {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&11i32.to_le_bytes());
        b[8..12].copy_from_slice(&1i32.to_le_bytes());
        b[16..24].copy_from_slice(&0x10u64.to_le_bytes());
        let s = RawSigInfo::from_bytes(&b).describe("signal-frame");
        assert_eq!(s.name, "SIGSEGV");
        assert_eq!(s.code_name.as_deref(), Some("SEGV_MAPERR"));
        assert_eq!(s.address, Some(Addr(0x10)));
        assert!(s.address_populated && !s.sent_by_kill);
        assert_eq!(s.sender_pid, None);
    }

    #[test]
    fn decodes_kill() {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&6i32.to_le_bytes());
        b[8..12].copy_from_slice(&(-6i32).to_le_bytes());
        b[16..20].copy_from_slice(&4242i32.to_le_bytes());
        let s = RawSigInfo::from_bytes(&b).describe("signal-delivery-stop");
        assert_eq!(s.code_name.as_deref(), Some("SI_TKILL"));
        assert!(s.sent_by_kill && !s.address_populated);
        assert_eq!(s.sender_pid, Some(4242));
    }
}
