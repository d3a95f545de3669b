//! Handing typed data from a handler to the panels of its request.

use actix_web::HttpRequest;

use crate::service::request_state;

/// Hands `value` to the panels of this request; a panel reads it with
/// [`StatsContext::handed::<T>()`](crate::StatsContext::handed) when the response is ready.
///
/// A later value of the same type replaces an earlier one. Returns whether the toolbar serves
/// this request and kept the value; when it does not (toolbar off, client not allowed), the
/// value is dropped and nothing else happens.
///
/// ```
/// use actix_web::{HttpRequest, HttpResponse};
///
/// /// What the cart panel shows.
/// #[derive(Debug)]
/// struct CartSize(usize);
///
/// async fn cart(req: HttpRequest) -> HttpResponse {
///     let items = vec!["tea", "milk"];
///     actix_debug_toolbar::hand_over(&req, CartSize(items.len()));
///     HttpResponse::Ok().body(items.join(", "))
/// }
/// ```
pub fn hand_over<T: Send + Sync + 'static>(req: &HttpRequest, value: T) -> bool {
    match request_state(req) {
        Some(state) => {
            state.hand_over(value);
            true
        }
        None => false,
    }
}
