//! The handlers, one module per resource. Each parses and validates the
//! request, makes one call to the store or the pipeline for its use case,
//! and shapes the response. Request bodies and the responses that add to
//! what is stored live beside their handlers; a stored record the API shows
//! as it is (a delivery, an endpoint, a tenant) is the response body itself.

pub mod catalogue;
pub mod deliveries;
pub mod event_types;
pub mod events;
pub mod ops;
pub mod tenants;
pub mod webhooks;
