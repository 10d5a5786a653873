// The real test mints and wallet, shared with l402-cashu-mint's tests (one copy).
#[path = "../../../l402-cashu-mint/tests/common/peers.rs"]
pub mod peers;
