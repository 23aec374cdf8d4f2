//! The connection to the Kubernetes API server: the configuration resolved as kubectl resolves
//! it (in-cluster service account, `--kubeconfig`, `KUBECONFIG`, `~/.kube/config`, `--context`),
//! the two clients built from it (the reconcilers' one behind the leader fence, and a plain one
//! for everything every replica does), and the checks made before serving.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::{HeaderValue, header};
use k8s_openapi::api::core::v1::Namespace;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};

use crate::leader::Fence;

/// How long the start-up checks wait for the API server.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the API server cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig file cannot be read or parsed.
    #[error("kubeconfig {path} cannot be used: {reason}")]
    Kubeconfig { path: String, reason: String },
    /// The named context is not in the kubeconfig.
    #[error(
        "context `{context}` is not in {path} (it has: {known}); pass one of them with --context"
    )]
    UnknownContext {
        context: String,
        path: String,
        known: String,
    },
    /// The kubeconfig names no current context and none was given.
    #[error("{path} names no current-context; pass one with --context")]
    NoContext { path: String },
    /// Nothing says where the cluster is.
    #[error(
        "no cluster to connect to: not running in a pod (KUBERNETES_SERVICE_HOST is unset) and \
         no kubeconfig (pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config)"
    )]
    NoCluster,
    /// The in-cluster service account cannot be used.
    #[error("the in-cluster service account cannot be used: {0}")]
    InCluster(String),
    /// The client cannot be built from the configuration.
    #[error("failed to build a Kubernetes client for {url}: {reason}")]
    Client { url: String, reason: String },
    /// The API server does not answer.
    #[error(
        "the Kubernetes API server at {url} does not answer: {reason}; check --kubeconfig and \
         --context, and that the server is reachable from here"
    )]
    Unreachable { url: String, reason: String },
    /// The govcloud CRDs are not installed (or not all of them).
    #[error(
        "the API server at {url} does not serve {missing} of govcloud.io/v1alpha1: install the \
         CRDs with `govcloud-controller crds | kubectl apply --server-side -f -` (or the Helm chart)"
    )]
    MissingCrds { url: String, missing: String },
    /// The controller's namespace does not exist.
    #[error("namespace `{namespace}` does not exist on {url}: create it, or pass --namespace")]
    NoNamespace { namespace: String, url: String },
    /// The controller's namespace cannot be read.
    #[error("failed to read namespace `{namespace}` on {url}: {reason}")]
    Namespace {
        namespace: String,
        url: String,
        reason: String,
    },
}

/// Resolves the API server's configuration the way kubectl does: `kubeconfig` (a file) when
/// given; else the files `KUBECONFIG` lists; else, in a pod and without `context`, the
/// service account; else `~/.kube/config`. `context` picks a context of the kubeconfig.
pub async fn resolve(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Config, ClusterError> {
    let (file, label) = if let Some(path) = kubeconfig {
        let file = Kubeconfig::read_from(path).map_err(|e| ClusterError::Kubeconfig {
            path: path.display().to_string(),
            reason: crate::report::error_chain(&e),
        })?;
        (file, path.display().to_string())
    } else if let Some(file) = Kubeconfig::from_env().map_err(|e| ClusterError::Kubeconfig {
        path: "KUBECONFIG".to_owned(),
        reason: crate::report::error_chain(&e),
    })? {
        (file, "the files KUBECONFIG names".to_owned())
    } else if context.is_none() && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return kube::Config::incluster()
            .map_err(|e| ClusterError::InCluster(crate::report::error_chain(&e)));
    } else {
        let path = default_kubeconfig().ok_or(ClusterError::NoCluster)?;
        if !path.exists() {
            return Err(ClusterError::NoCluster);
        }
        let file = Kubeconfig::read_from(&path).map_err(|e| ClusterError::Kubeconfig {
            path: path.display().to_string(),
            reason: crate::report::error_chain(&e),
        })?;
        (file, path.display().to_string())
    };
    match context {
        Some(context) if !file.contexts.iter().any(|c| c.name == context) => {
            let mut known: Vec<&str> = file.contexts.iter().map(|c| c.name.as_str()).collect();
            known.sort_unstable();
            return Err(ClusterError::UnknownContext {
                context: context.to_owned(),
                path: label,
                known: if known.is_empty() {
                    "no contexts".to_owned()
                } else {
                    known.join(", ")
                },
            });
        }
        None if file.current_context.as_deref().is_none_or(str::is_empty) => {
            return Err(ClusterError::NoContext { path: label });
        }
        _ => {}
    }
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    kube::Config::from_custom_kubeconfig(file, &options)
        .await
        .map_err(|e| ClusterError::Kubeconfig {
            path: label,
            reason: crate::report::error_chain(&e),
        })
}

fn default_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".kube").join("config"))
}

/// The value of the `User-Agent` header of every request of this replica: the API server's
/// audit log then tells which replica wrote what.
pub fn user_agent(identity: &str) -> String {
    format!(
        "govcloud-controller/{} ({identity})",
        env!("CARGO_PKG_VERSION")
    )
}

/// The two clients of a replica: `plain` for the APIs, the elector and the checks, and
/// `fenced`, whose writes pass only while `fence` is open, for the reconcilers.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // kube's `Client` has no `Debug`
pub struct Clients {
    /// Every replica's client.
    pub plain: Client,
    /// The reconcilers' client.
    pub fenced: Client,
}

/// Builds the [`Clients`] of `config`, both announcing `identity` in their user agent.
pub fn clients(
    config: &kube::Config,
    identity: &str,
    fence: &Fence,
) -> Result<Clients, ClusterError> {
    let failed = |reason: String| ClusterError::Client {
        url: config.cluster_url.to_string(),
        reason,
    };
    let mut config = config.clone();
    let agent = HeaderValue::from_str(&user_agent(identity))
        .map_err(|e| failed(format!("--identity cannot be sent in a header: {e}")))?;
    config
        .headers
        .retain(|(name, _)| name != header::USER_AGENT);
    config.headers.push((header::USER_AGENT, agent));
    let plain = Client::try_from(config.clone()).map_err(|e| failed(e.to_string()))?;
    let fenced = crate::leader::fenced_client(&config, fence)
        .map_err(|e| failed(crate::report::error_chain(&e)))?;
    Ok(Clients { plain, fenced })
}

/// Checks, before anything is served, that the API server at `url` answers, serves every
/// govcloud CRD, and that `namespace` (the controller's own, where its lease lives) exists.
pub async fn preflight(client: &Client, url: &str, namespace: &str) -> Result<(), ClusterError> {
    let url = url.to_owned();
    match tokio::time::timeout(PREFLIGHT_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            return Err(ClusterError::Unreachable {
                url,
                reason: crate::report::error_chain(&error),
            });
        }
        Err(_) => {
            return Err(ClusterError::Unreachable {
                url,
                reason: format!("no answer within {PREFLIGHT_TIMEOUT:?}"),
            });
        }
    }
    let group_version = format!("{}/{}", govcloud_crds::GROUP, govcloud_crds::VERSION);
    let served: Vec<String> = match client.list_api_group_resources(&group_version).await {
        Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
        Err(kube::Error::Api(status)) if status.code == 404 => Vec::new(),
        Err(error) => {
            return Err(ClusterError::Unreachable {
                url,
                reason: crate::report::error_chain(&error),
            });
        }
    };
    let missing: Vec<String> = govcloud_crds::crdgen::all()
        .iter()
        .map(|crd| crd.spec.names.plural.clone())
        .filter(|plural| !served.contains(plural))
        .collect();
    if !missing.is_empty() {
        return Err(ClusterError::MissingCrds {
            url,
            missing: missing.join(", "),
        });
    }
    match Api::<Namespace>::all(client.clone())
        .get_opt(namespace)
        .await
    {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ClusterError::NoNamespace {
            namespace: namespace.to_owned(),
            url,
        }),
        Err(error) => Err(ClusterError::Namespace {
            namespace: namespace.to_owned(),
            url,
            reason: crate::report::error_chain(&error),
        }),
    }
}
