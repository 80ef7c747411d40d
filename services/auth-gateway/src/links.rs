//! The external tools of the original tool's menu (Airflow, GitLab monitor, Nexus, Spark UI), from settings.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use service_kit::Caller;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    #[schema(example = "Apache Airflow")]
    pub name: String,
    #[schema(example = "https://airflow.example.org")]
    pub url: String,
    pub description: String,
}

/// The external tools, in the menu's order; a tool without a configured URL is left out.
#[utoipa::path(get, path = "/api/links", tag = "links",
    responses((status = 200, body = Vec<Link>), (status = 401, body = service_kit::ErrorBody)))]
pub async fn links(_: Caller, links: web::Data<Vec<Link>>) -> HttpResponse {
    HttpResponse::Ok().json(links.get_ref())
}
