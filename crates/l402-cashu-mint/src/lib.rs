//! Cashu mint client.
