//! Discovery documents (RFC 7643 §5-§7, RFC 7644 §4).

use crate::json_match;
use crate::world::{ScimWorld, StepError};
use cucumber::then;
use reqwest::Method;
use serde_json::Value;

/// Reads `/ServiceProviderConfig` and checks `FEATURE.supported` (RFC 7643 §5).
#[then(regex = r#"^the service provider configuration says "([^"]+)" is supported$"#)]
async fn feature_supported(world: &mut ScimWorld, feature: String) -> Result<(), StepError> {
    world
        .send_expanded(Method::GET, "/ServiceProviderConfig", None)
        .await?;
    let supported = json_match::lookup(world.last_json()?, &format!("{feature}.supported"))?;
    if supported == Some(&Value::Bool(true)) {
        Ok(())
    } else {
        Err(world.failure(format!("expected `{feature}.supported` to be true")))
    }
}
