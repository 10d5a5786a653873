//! Size caps applied before any allocation that depends on input (RFC 9110 §5.4, "Field Limits").

/// Largest encoded macaroon accepted, in bytes (binary form).
pub const MAX_MACAROON_BYTES: usize = 4096;
/// Most caveats a macaroon may carry.
pub const MAX_CAVEATS: usize = 32;
/// Largest single field (location, identifier, caveat id, verification id), in bytes.
pub const MAX_FIELD_BYTES: usize = 1024;
/// Longest `Authorization` header value accepted, in bytes.
pub const MAX_AUTHORIZATION_BYTES: usize = 8192;
/// Most comma-separated macaroon candidates in one `Authorization` value.
pub const MAX_MACAROON_CANDIDATES: usize = 8;
/// Longest service name accepted by [`crate::is_valid_service_name`].
pub const MAX_SERVICE_NAME_BYTES: usize = 128;
/// Longest capability list accepted by [`crate::is_valid_capability_list`].
pub const MAX_CAPABILITIES_BYTES: usize = 512;
