//! Why a variable's location or value could not be had. The variable
//! reader keeps the reason and the snapshot shows it as the variable's
//! `error` (its text here is that contract); the engine and tests can
//! match on the kind.

use thiserror::Error;

use crate::arch::dwarf::register_name;
use crate::memory::MemoryError;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum LocationError {
    /// A register the unwinder could not recover in this frame (a
    /// caller-saved one in a caller, say).
    #[error("{} is not saved in this frame", register_name(*.0))]
    Unsaved(u16),
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// The DWARF expression or the value it computed is malformed.
    #[error("{0}")]
    Dwarf(gimli::Error),
    #[error("bad location list: {0}")]
    LocationList(gimli::Error),
    #[error("needs a frame")]
    NeedsFrame,
    #[error("no such frame")]
    NoSuchFrame,
    #[error("the expression has no value here")]
    NoValue,
    #[error("the TLS block of this module is unknown")]
    NoTlsBlock,
    #[error("the frame's CFA is unknown")]
    NoCfa,
    #[error("unsupported DWARF expression request {0}")]
    UnsupportedRequest(String),
    #[error("the frame base is defined by itself")]
    FrameBaseLoop,
    #[error("no function for the frame base")]
    NoFunction,
    #[error("the function has no frame base")]
    NoFrameBase,
    #[error("no frame base at this pc")]
    NoFrameBaseHere,
    #[error("implicit pointer to an unknown DIE")]
    UnknownImplicitPointer,
    #[error("composite location too large")]
    CompositeTooLarge,
    #[error("unsupported location form")]
    UnsupportedForm,
    #[error("unsupported constant form")]
    UnsupportedConstant,
    #[error("a location list outside a frame")]
    ListOutsideFrame,
    #[error("base type without encoding")]
    NoEncoding,
    #[error("unsupported base type")]
    UnsupportedBaseType,
    // Entry values, from the caller's call sites.
    #[error("unsupported DW_OP_entry_value expression")]
    UnsupportedEntryValue,
    #[error("the call site does not record {}", register_name(*.0))]
    RegisterNotRecorded(u16),
    #[error("the call site does not record this parameter")]
    ParameterNotRecorded,
    #[error("entry values nest too deep")]
    TooDeep,
    #[error("no call site before the tail call")]
    NoSiteBeforeTailCall,
    #[error("the call site has no value for it")]
    NoSiteValue,
    #[error("no caller frame")]
    NoCaller,
    #[error("the caller has no debug info")]
    CallerWithoutDebugInfo,
    #[error("the function's entry is unknown")]
    UnknownEntry,
    #[error("no call site at the return address")]
    NoCallSite,
    #[error("the call's target is unknown")]
    UnknownTarget,
    #[error("too many tail calls to follow")]
    TooManyTailCalls,
    #[error("the call site does not lead to this function")]
    NotLeadingHere,
    #[error("ambiguous tail calls lead to this function")]
    AmbiguousTailCalls,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_the_register() {
        assert_eq!(LocationError::Unsaved(5).to_string(), "rdi is not saved in this frame");
        assert_eq!(LocationError::Unsaved(18).to_string(), "xmm1 is not saved in this frame");
        assert_eq!(LocationError::Unsaved(99).to_string(), "register 99 is not saved in this frame");
        assert_eq!(LocationError::RegisterNotRecorded(5).to_string(), "the call site does not record rdi");
    }
}
