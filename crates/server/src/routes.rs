//! One list of the routes the server serves, made by the same calls that register them.
//!
//! Every public route is added through [`Routes`], which hands it to axum and remembers its
//! method and path. The OpenAPI test and the authorisation test compare their own tables with
//! [`crate::routes`]: a route added without an entry in both fails the tests, so nobody can add
//! an endpoint that was never checked for who may call it.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;

use crate::AppState;

/// A router under construction and the (method, path) of every route on it.
pub struct Routes {
    router: Router<AppState>,
    listed: Vec<(Method, String)>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            listed: Vec::new(),
        }
    }
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Self {
        self.on(Method::GET, path, axum::routing::get(h))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Self {
        self.on(Method::POST, path, axum::routing::post(h))
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Self {
        self.on(Method::PUT, path, axum::routing::put(h))
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Self {
        self.on(Method::DELETE, path, axum::routing::delete(h))
    }

    /// axum merges the methods of one path registered in several calls.
    fn on(mut self, method: Method, path: &str, route: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, route);
        self.listed.push((method, path.to_owned()));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.listed.extend(other.listed);
        self
    }

    pub fn nest(mut self, prefix: &str, other: Routes) -> Self {
        self.router = self.router.nest(prefix, other.router);
        self.listed.extend(
            other
                .listed
                .into_iter()
                .map(|(m, p)| (m, format!("{prefix}{p}"))),
        );
        self
    }

    /// Applies a layer (a body limit, say) to the routes added so far.
    pub fn map(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    pub fn listed(&self) -> &[(Method, String)] {
        &self.listed
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
