//! `idpsim serve`: every persona's SAML IdP and OpenID Connect provider on one loopback port
//! and the reference SP on another. Each persona has two demo organizations at the SP (an
//! organization has one SSO connection, seed 002), one paired with its SAML IdP and one with
//! its OIDC provider, each with its own SCIM token, set up through the SP's admin API; a table
//! of the URLs is printed (also as JSON for scripts). Keys, certificates and tenant ids live in
//! the state directory, so metadata, issuers and JWKS stay the same across restarts.

use crate::cli::ServeArgs;
use crate::personas::default_personas_dir;
use crate::provision::UsageError;
use idpsim_reference_sp::{DatabaseLocation, MatchingStrategy, RunningSp, SpConfig};
use idpsim_simulator::clock::ControlledClock;
use idpsim_simulator::directory::Directory;
use idpsim_simulator::oidc::{Client, OidcProvider, ProviderConfig, SigningKey};
use idpsim_simulator::persona::{Persona, PersonaCatalog};
use idpsim_simulator::saml::{SamlCredential, SamlIdp, SamlIdpConfig, ServiceProvider};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The SP's `client_id` at every provider.
pub const SP_CLIENT_ID: &str = "idpsim-reference-sp";

/// What `serve` started, with the URLs it prints.
pub struct Served {
    /// The reference SP.
    pub sp: RunningSp,
    /// The URL table as the `--urls-json` document.
    pub urls: Value,
    /// The providers' server; it stops when the process does.
    pub idp_server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the providers and the SP as `args` say.
pub async fn start(args: &ServeArgs) -> Result<Served, UsageError> {
    let usage = |message: String| UsageError(message);
    let catalog = PersonaCatalog::open(
        &args
            .personas_dir
            .clone()
            .unwrap_or_else(default_personas_dir),
    )
    .map_err(|error| usage(error.to_string()))?;
    let directory =
        Arc::new(Directory::load(&args.directory).map_err(|error| usage(error.to_string()))?);
    let mut matching_overrides = Vec::new();
    for text in &args.matching {
        let (persona, strategy) = text
            .split_once('=')
            .ok_or_else(|| usage(format!("`{text}` is not PERSONA=STRATEGY")))?;
        let strategy: MatchingStrategy = strategy.parse().map_err(usage)?;
        matching_overrides.push((persona.to_owned(), strategy));
    }
    let mut extra_clients = Vec::new();
    for text in &args.oidc_clients {
        extra_clients.push(Client::parse(text).map_err(usage)?);
    }
    let mut extra_sps = Vec::new();
    for text in &args.service_providers {
        // `ENTITY_ID=ACS_URL[,SLO_URL]`, or the URL of the SP's metadata.
        let sp = if text.contains('=') {
            ServiceProvider::parse(text)
        } else {
            ServiceProvider::fetch(text).await
        };
        extra_sps.push(sp.map_err(usage)?);
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|error| usage(format!("cannot listen on {}: {error}", args.listen)))?;
    let idp_base = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(|error| usage(format!("cannot read the listening address: {error}")))?
    );
    let sp = RunningSp::start(SpConfig {
        listen: args.sp_listen,
        database: DatabaseLocation::File(args.database.clone()),
        bootstrap_token: args.scim_token.clone(),
        admin_key: args.admin_key.clone(),
    })
    .await
    .map_err(|error| usage(format!("cannot start the reference SP: {error}")))?;
    let sp_secret = state_value(&args.state_dir, "sp-client-secret", random_secret)?;
    let admin = AdminClient::new(&sp)?;
    // One clock for the IdPs and the SP: the wall clock's time until the clock API moves it.
    let clock = ControlledClock::new();
    sp.set_clock(clock.clock());
    let mut router = if args.clock_api {
        clock.router()
    } else {
        axum::Router::new()
    };
    let mut personas = Map::new();
    for name in catalog.names() {
        let persona = catalog
            .load(name)
            .map_err(|error| usage(error.to_string()))?
            .persona;
        let key =
            SigningKey::load_or_generate(&args.state_dir.join("keys").join(format!("{name}.pem")))
                .map_err(|error| usage(error.to_string()))?;
        let tenant = state_value(&args.state_dir, &format!("tenant-{name}"), || {
            uuid::Uuid::new_v4().to_string()
        })?;
        let credential = SamlCredential::load_or_generate(
            &args.state_dir.join("saml"),
            name,
            &format!("{} SAML signing (idpsim)", persona.display_name),
        )
        .map_err(|error| usage(error.to_string()))?;
        let mut service_providers = vec![ServiceProvider {
            entity_id: sp.saml_entity_id(&saml_connection_id(name)),
            acs_url: sp.saml_acs_url(&saml_connection_id(name)),
            slo_url: Some(sp.saml_slo_url(&saml_connection_id(name))),
        }];
        service_providers.extend(extra_sps.iter().cloned());
        let saml_idp = Arc::new(SamlIdp::new(
            persona.clone(),
            Arc::clone(&directory),
            credential,
            SamlIdpConfig {
                base_url: idp_base.clone(),
                tenant: tenant.clone(),
                service_providers,
                strict: args.strict_sp,
                auto_login: args.auto_login,
                clock: clock.clock(),
            },
        ));
        let saml_claims = persona.saml.oidc_equivalents.value.clone();
        let idp_type = idp_type(&persona);
        let mut clients = vec![Client {
            id: SP_CLIENT_ID.into(),
            secret: sp_secret.clone(),
            redirect_uris: vec![sp.oidc_redirect_uri(name)],
        }];
        clients.extend(extra_clients.iter().cloned());
        let provider = Arc::new(OidcProvider::new(
            persona,
            Arc::clone(&directory),
            key,
            ProviderConfig {
                base_url: idp_base.clone(),
                tenant,
                clients,
                auto_login: args.auto_login,
                clock: clock.clock(),
            },
        ));
        let matching = match matching_overrides
            .iter()
            .find(|(persona, _)| persona == name)
        {
            Some((_, strategy)) => *strategy,
            None => provider_default_matching(&catalog, name)?,
        };
        // An organization has one SSO connection (seed 002): one demo organization per protocol,
        // set up through the SP's admin API as an app's own tooling would.
        let organization = admin.demo_organization(&format!("{name} demo")).await?;
        let saml_organization = admin
            .demo_organization(&format!("{name} demo (SAML)"))
            .await?;
        admin
            .connect(
                &organization.id,
                json!({
                    "id": name,
                    "protocol": "oidc",
                    "idp_type": idp_type,
                    "matching": matching.to_string(),
                    "settings": {
                        "issuer": provider.issuer(),
                        "client_id": SP_CLIENT_ID,
                        "client_secret": sp_secret,
                    },
                }),
            )
            .await?;
        let saml_id = saml_connection_id(name);
        admin
            .connect(
                &saml_organization.id,
                json!({
                    "id": saml_id,
                    "protocol": "saml",
                    "idp_type": idp_type,
                    "matching": matching.to_string(),
                    "settings": {
                        "idp_entity_id": saml_idp.entity_id(),
                        "idp_sso_url": saml_idp.sso_url(),
                        "idp_slo_url": saml_idp.slo_url(),
                        "idp_certificates": [saml_idp.certificate_pem()],
                        "claim_attributes": saml_claims,
                        "idp_initiated": "Accept",
                    },
                }),
            )
            .await?;
        personas.insert(
            name.clone(),
            json!({
                "saml_metadata": saml_idp.metadata_url(),
                "saml_sso": saml_idp.sso_url(),
                "saml_entity_id": saml_idp.entity_id(),
                "saml_idp_initiated": format!(
                    "{}?sp={}",
                    saml_idp.initiate_url(),
                    sp.saml_entity_id(&saml_id)
                ),
                "oidc_issuer": provider.issuer(),
                "oidc_discovery": provider.discovery_url(),
                "login_page": format!("{}/sso/oidc/{name}/login", sp.origin()),
                "saml_login_page": format!("{}/sso/saml/{saml_id}/login", sp.origin()),
                "matching": matching.to_string(),
                "scim_token": organization.token,
                "saml_scim_token": saml_organization.token,
            }),
        );
        router = router
            .merge(Arc::clone(&provider).router())
            .merge(Arc::clone(&saml_idp).router());
    }
    let mut urls = json!({
        "personas": personas,
        "sp": {
            "login": format!("{}/sso/oidc/{{persona}}/login", sp.origin()),
            "saml_login": format!("{}/sso/saml/{{persona}}-saml/login", sp.origin()),
            "saml_metadata": format!("{}/sso/saml/{{persona}}-saml/metadata", sp.origin()),
            "acs": format!("{}/sso/saml/{{persona}}-saml/acs", sp.origin()),
            "whoami": format!("{}/whoami", sp.origin()),
            "scim_base": sp.base_url(),
            "scim_token": sp.default_token(),
            "admin_api": format!("{}/admin/v1", sp.origin()),
            "admin_key": sp.admin_key(),
        },
    });
    if args.clock_api {
        urls["clock_api"] = json!(format!("{idp_base}/clock"));
    }
    if let Some(path) = &args.urls_json {
        let text = serde_json::to_string_pretty(&urls).unwrap_or_default();
        std::fs::write(path, text)
            .map_err(|error| usage(format!("cannot write {}: {error}", path.display())))?;
    }
    let idp_server = tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(Served {
        sp,
        urls,
        idp_server,
    })
}

/// A demo organization and a new read-write SCIM token for it.
struct DemoOrganization {
    id: String,
    token: String,
}

/// The reference SP's admin API (`/admin/v1`), with its key.
struct AdminClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl AdminClient {
    fn new(sp: &RunningSp) -> Result<AdminClient, UsageError> {
        Ok(AdminClient {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|error| UsageError(format!("cannot make an HTTP client: {error}")))?,
            base: format!("{}/admin/v1", sp.origin()),
            key: sp.admin_key().to_owned(),
        })
    }

    /// Sends a request to the admin API; the JSON answer, or the SP's error as a usage error.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, UsageError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let failed =
            |why: String| UsageError(format!("the SP's admin API refused {method} {path}: {why}"));
        let response = request
            .send()
            .await
            .map_err(|error| failed(error.to_string()))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .map_err(|error| failed(format!("HTTP {status}, not JSON: {error}")))?;
        if status.is_success() {
            Ok(answer)
        } else {
            Err(failed(format!(
                "HTTP {status}: {}",
                answer["error_description"].as_str().unwrap_or_default()
            )))
        }
    }

    /// The demo organization `name`, created on the first start (the database keeps it), with
    /// a new read-write SCIM token.
    async fn demo_organization(&self, name: &str) -> Result<DemoOrganization, UsageError> {
        let listed = self
            .call(reqwest::Method::GET, "/organizations", None)
            .await?;
        let existing = listed["organizations"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|organization| organization["name"] == name)
            .and_then(|organization| organization["id"].as_str())
            .map(str::to_owned);
        let id = match existing {
            Some(id) => id,
            None => {
                let created = self
                    .call(
                        reqwest::Method::POST,
                        "/organizations",
                        Some(json!({ "name": name })),
                    )
                    .await?;
                created["id"].as_str().unwrap_or_default().to_owned()
            }
        };
        let issued = self
            .call(
                reqwest::Method::POST,
                &format!("/organizations/{id}/tokens"),
                Some(json!({ "role": "read-write" })),
            )
            .await?;
        let token = issued["token"].as_str().unwrap_or_default().to_owned();
        Ok(DemoOrganization { id, token })
    }

    /// Makes `connection` the organization's SSO connection (created or replaced).
    async fn connect(&self, organization: &str, connection: Value) -> Result<(), UsageError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/organizations/{organization}/connection"),
            Some(connection),
        )
        .await
        .map(drop)
    }
}

/// The id of `persona`'s SAML connection at the reference SP (its OIDC connection's id is the
/// persona's name; ids are unique across protocols).
fn saml_connection_id(persona: &str) -> String {
    format!("{persona}-saml")
}

/// The IdP type of seed 002 a persona is, by the IdP whose directory block it reads (variants
/// such as `okta-aiw` read their vendor's): `Okta`, `MicrosoftEntra`, or `Generic`.
fn idp_type(persona: &Persona) -> &'static str {
    match persona.directory_block.as_str() {
        "entra" => "MicrosoftEntra",
        "okta" => "Okta",
        _ => "Generic",
    }
}

/// The persona's `default_matching` knob (seed 002's default for its IdP type).
fn provider_default_matching(
    catalog: &PersonaCatalog,
    name: &str,
) -> Result<MatchingStrategy, UsageError> {
    let persona = catalog
        .load(name)
        .map_err(|error| UsageError(error.to_string()))?
        .persona;
    persona
        .default_matching
        .value
        .parse()
        .map_err(|error: String| UsageError(format!("{name}: {error}")))
}

/// The URL table for the terminal.
pub fn table(urls: &Value) -> String {
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let mut out = String::new();
    if let Some(personas) = urls["personas"].as_object() {
        for (name, persona) in personas {
            let _ = write!(
                out,
                "{name}\n  SAML metadata:  {}\n  SAML SSO:       {}\n  OIDC issuer:    {}\n  \
                 sign in at the SP: {} (SAML) · {} (OIDC)\n  matching: {}\n  \
                 SCIM tokens of its demo organizations: {} (SAML) · {} (OIDC)\n",
                text(&persona["saml_metadata"]),
                text(&persona["saml_sso"]),
                text(&persona["oidc_issuer"]),
                text(&persona["saml_login_page"]),
                text(&persona["login_page"]),
                text(&persona["matching"]),
                text(&persona["saml_scim_token"]),
                text(&persona["scim_token"]),
            );
        }
    }
    let sp = &urls["sp"];
    let _ = write!(
        out,
        "\nReference SP\n  sign in:    {} · {}\n  SAML metadata: {} · ACS: {}\n  whoami:     {}\n  \
         SCIM base:  {}\n  SCIM token: {}\n  admin API:  {} (key {})\n",
        text(&sp["saml_login"]),
        text(&sp["login"]),
        text(&sp["saml_metadata"]),
        text(&sp["acs"]),
        text(&sp["whoami"]),
        text(&sp["scim_base"]),
        text(&sp["scim_token"]),
        text(&sp["admin_api"]),
        text(&sp["admin_key"]),
    );
    if let Some(clock) = urls["clock_api"].as_str() {
        let _ = writeln!(
            out,
            "\nClock API: {clock} (POST /clock/freeze, /clock/advance {{\"seconds\": N}}, /clock/resume)"
        );
    }
    out
}

/// A value kept in `state_dir/name`: read when present, made by `make` and written otherwise.
fn state_value(
    state_dir: &Path,
    name: &str,
    make: impl FnOnce() -> String,
) -> Result<String, UsageError> {
    let path = state_dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        _ => {
            let value = make();
            std::fs::create_dir_all(state_dir)
                .and_then(|()| std::fs::write(&path, format!("{value}\n")))
                .map_err(|error| UsageError(format!("cannot write {}: {error}", path.display())))?;
            Ok(value)
        }
    }
}

fn random_secret() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
