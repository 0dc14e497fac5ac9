//! Segment-aware route matching over the normalized path, first match wins; a
//! `cors_preflight` route matches only CORS preflights. Runs per request: no allocation,
//! no lock.

use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, Method};

use crate::config::{PathMatch, Route};

/// The configured routes, in order.
#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(routes: &[Route]) -> Router {
        Router {
            routes: routes.to_vec(),
        }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The first route whose path and methods match, with its index. `normalized_path` must
    /// come from `path::normalize` (the query never takes part). Methods are compared
    /// exactly: a route limited to `GET` does not match `HEAD`. A `cors_preflight` route
    /// matches only a preflight: `OPTIONS` carrying both `Origin` and
    /// `Access-Control-Request-Method` (the Fetch standard's CORS-preflight request).
    pub fn find(
        &self,
        method: &Method,
        normalized_path: &str,
        headers: &HeaderMap,
    ) -> Option<(usize, &Route)> {
        self.routes.iter().enumerate().find(|(_, route)| {
            path_matches(&route.path, normalized_path)
                && route
                    .methods
                    .as_ref()
                    .is_none_or(|methods| methods.contains(method))
                && (!route.cors_preflight || is_preflight(method, headers))
        })
    }
}

/// A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(ORIGIN)
        && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

fn path_matches(rule: &PathMatch, path: &str) -> bool {
    match rule {
        PathMatch::Exact(exact) => path == exact,
        PathMatch::Prefix(prefix) => {
            // Validation stores prefixes without a trailing slash (except "/"); trimming
            // here too keeps `/admin/` from silently becoming a non-segment match.
            let prefix = prefix.trim_end_matches('/');
            match path.strip_prefix(prefix) {
                Some(rest) => rest.is_empty() || rest.starts_with('/'),
                None => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AuthMode, Require};

    fn route(name: &str, path: PathMatch, methods: Option<Vec<Method>>) -> Route {
        Route {
            name: name.to_owned(),
            path,
            methods,
            cors_preflight: false,
            auth: AuthMode::Required,
            require: Require::default(),
            action: crate::config::RouteAction::Forward,
        }
    }

    fn prefix(p: &str) -> PathMatch {
        PathMatch::Prefix(p.to_owned())
    }

    fn found(router: &Router, method: &Method, path: &str) -> Option<String> {
        router
            .find(method, path, &HeaderMap::new())
            .map(|(_, r)| r.name.clone())
    }

    #[test]
    fn prefix_matches_whole_segments_only() {
        let router = Router::new(&[route("admin", prefix("/admin"), None)]);
        for path in ["/admin", "/admin/", "/admin/x", "/admin/x/y"] {
            assert_eq!(
                found(&router, &Method::GET, path).as_deref(),
                Some("admin"),
                "{path}"
            );
        }
        for path in ["/administrator", "/admin-x", "/", "/adm", "/x/admin"] {
            assert_eq!(found(&router, &Method::GET, path), None, "{path}");
        }
    }

    #[test]
    fn root_prefix_matches_everything() {
        let router = Router::new(&[route("all", prefix("/"), None)]);
        for path in ["/", "/a", "/a/b/", "/administrator"] {
            assert_eq!(found(&router, &Method::GET, path).as_deref(), Some("all"));
        }
    }

    #[test]
    fn exact_matches_only_the_exact_path() {
        let router = Router::new(&[route("health", PathMatch::Exact("/health".into()), None)]);
        assert_eq!(
            found(&router, &Method::GET, "/health").as_deref(),
            Some("health")
        );
        for path in ["/health/", "/health/x", "/healthz", "/"] {
            assert_eq!(found(&router, &Method::GET, path), None, "{path}");
        }
    }

    #[test]
    fn first_match_wins_and_index_is_reported() {
        let router = Router::new(&[
            route("public", prefix("/public"), None),
            route("admin", prefix("/admin"), None),
            route("rest", prefix("/"), None),
        ]);
        let (index, r) = router
            .find(&Method::GET, "/admin/x", &HeaderMap::new())
            .unwrap();
        assert_eq!((index, r.name.as_str()), (1, "admin"));
        let (index, r) = router
            .find(&Method::GET, "/publication", &HeaderMap::new())
            .unwrap();
        assert_eq!((index, r.name.as_str()), (2, "rest"));
        let (index, _) = router
            .find(&Method::GET, "/public", &HeaderMap::new())
            .unwrap();
        assert_eq!(index, 0);
    }

    #[test]
    fn methods_restrict_a_route_and_fall_through_to_the_next() {
        let router = Router::new(&[
            route(
                "admin-write",
                prefix("/admin"),
                Some(vec![Method::POST, Method::PUT]),
            ),
            route("admin-read", prefix("/admin"), Some(vec![Method::GET])),
        ]);
        assert_eq!(
            found(&router, &Method::POST, "/admin").as_deref(),
            Some("admin-write")
        );
        assert_eq!(
            found(&router, &Method::GET, "/admin").as_deref(),
            Some("admin-read")
        );
        assert_eq!(found(&router, &Method::HEAD, "/admin"), None);
        assert_eq!(found(&router, &Method::DELETE, "/admin"), None);
    }

    #[test]
    fn a_cors_preflight_route_matches_only_preflights() {
        let mut preflight = route("preflight", prefix("/api"), None);
        preflight.cors_preflight = true;
        preflight.auth = AuthMode::None;
        let router = Router::new(&[preflight, route("api", prefix("/api"), None)]);
        let mut headers = HeaderMap::new();
        headers.insert(
            ORIGIN,
            http::HeaderValue::from_static("https://app.example"),
        );
        let name = |method: &Method, headers: &HeaderMap| {
            router
                .find(method, "/api/x", headers)
                .map(|(_, r)| r.name.clone())
        };
        assert_eq!(name(&Method::OPTIONS, &headers).as_deref(), Some("api"));
        headers.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            http::HeaderValue::from_static("PUT"),
        );
        assert_eq!(
            name(&Method::OPTIONS, &headers).as_deref(),
            Some("preflight")
        );
        assert_eq!(name(&Method::GET, &headers).as_deref(), Some("api"));
        headers.remove(ORIGIN);
        assert_eq!(name(&Method::OPTIONS, &headers).as_deref(), Some("api"));
    }

    #[test]
    fn no_routes_match_nothing() {
        let router = Router::new(&[]);
        assert_eq!(found(&router, &Method::GET, "/"), None);
    }

    #[test]
    fn prefix_with_a_stray_trailing_slash_still_matches_by_segment() {
        let router = Router::new(&[route("a", prefix("/admin/"), None)]);
        assert_eq!(found(&router, &Method::GET, "/admin").as_deref(), Some("a"));
        assert_eq!(found(&router, &Method::GET, "/administrator"), None);
    }
}
