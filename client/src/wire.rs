//! The wire log: every head exactly as it crossed the wire, on two `log` targets at `trace`
//! level, written by every transport (the CLI's `-v` prints them).

/// The log target of request heads as written (`trace` level).
pub const WIRE_REQUEST: &str = "tidings::wire::request";
/// The log target of response heads (interim and final) as received (`trace` level).
pub const WIRE_RESPONSE: &str = "tidings::wire::response";

/// Logs a request head exactly as written, at `trace` level on [`WIRE_REQUEST`]; octets map
/// one to one to U+0000..U+00FF, so nothing is lost or invented. Costs one check when the
/// target is off.
pub fn log_request_head(head: &[u8]) {
    if log::log_enabled!(target: WIRE_REQUEST, log::Level::Trace) {
        log::trace!(target: WIRE_REQUEST, "{}", latin1(head));
    }
}

/// Logs a response head exactly as received, at `trace` level on [`WIRE_RESPONSE`].
pub fn log_response_head(head: &[u8]) {
    if log::log_enabled!(target: WIRE_RESPONSE, log::Level::Trace) {
        log::trace!(target: WIRE_RESPONSE, "{}", latin1(head));
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&byte| char::from(byte)).collect()
}
