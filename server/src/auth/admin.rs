//! The `AdminUser` extractor: a signed-in school admin, or 403 `forbidden` for everyone else.

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use futures_util::future::LocalBoxFuture;
use hallway_protocol::{ErrorCode, Role};

use super::AuthUser;
use crate::error::ApiError;

/// The caller of an admin endpoint: authenticated exactly as `AuthUser`, and a school admin.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

impl AdminUser {
    /// The admin's id (the actor in audit entries).
    pub fn id(&self) -> uuid::Uuid {
        self.0.id()
    }
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Already checked by the admin scope's middleware for this request.
        if let Some(admin) = req.extensions().get::<AdminUser>().cloned() {
            return Box::pin(async move { Ok(admin) });
        }
        let caller = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            if caller.user.role() != Role::Admin {
                return Err(ApiError::new(ErrorCode::Forbidden, "only school admins may do this"));
            }
            Ok(AdminUser(caller))
        })
    }
}
