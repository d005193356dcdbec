//! From an authenticated request to a rendered response: nonce, action, handler.

use serde_json::Value;
use stencil_core::{Caller, ServiceError};
use stencil_ecs::actions::{self, Action, ImageView, from_domain, image_view};
use stencil_ecs::{
    Authenticated, EcsError, ErrorCode, RawRequest, Rendered, ResponseFormat, render_error,
    render_success, render_success_typed,
};

use crate::state::AppState;

/// Runs one request to completion. Never panics on client input; every failure is an ECS error.
pub async fn dispatch(state: &AppState, raw: &RawRequest, request_id: &str) -> Rendered {
    let format = raw.format_hint();
    // The address the client reached us at: what `HostId` and `RegionEndpoint` report.
    let host = raw.header("host").unwrap_or(&state.host_id).to_string();
    let secrets = |ak: &str| state.accounts.get(ak).map(|a| a.secret.clone());
    let auth = match stencil_ecs::authenticate(raw, &secrets, chrono::Utc::now()) {
        Ok(a) => a,
        Err(e) => return render_error(&e, request_id, &host, format),
    };
    let format = auth.format;
    let reply = Reply {
        request_id,
        format,
        host: &host,
    };
    match run(state, &auth, &reply).await {
        Ok(rendered) => rendered,
        Err(e) => {
            if e.code() == ErrorCode::InternalError {
                tracing::error!(request_id, action = %auth.action, "internal error: {}", e.message());
            }
            render_error(&e, request_id, &host, format)
        }
    }
}

/// How to render a success for this request.
pub(crate) struct Reply<'a> {
    request_id: &'a str,
    format: ResponseFormat,
    /// The address the client reached us at.
    host: &'a str,
}

impl Reply<'_> {
    pub(crate) fn value(&self, action: Action, body: Value) -> Rendered {
        render_success(action.name(), body, self.request_id, self.format)
    }

    pub(crate) fn typed<T: serde::Serialize>(&self, action: Action, body: &T) -> Rendered {
        render_success_typed(action.name(), body, self.request_id, self.format)
    }
}

async fn run(
    state: &AppState,
    auth: &Authenticated,
    reply: &Reply<'_>,
) -> Result<Rendered, EcsError> {
    let fresh = state
        .nonces
        .check_and_record(&auth.access_key_id, &auth.nonce)
        .await
        .map_err(|e| service_error(e.into()))?;
    if !fresh {
        return Err(EcsError::new(
            ErrorCode::SignatureNonceUsed,
            "Specified signature nonce was used already.",
        ));
    }
    let action = Action::parse(&auth.action)?;
    let caller = state
        .caller(&auth.access_key_id)
        .ok_or_else(|| EcsError::from(ErrorCode::InvalidAccessKeyIdNotFound))?;
    handle(state, &caller, action, &auth.params, reply).await
}

pub(crate) fn service_error(e: ServiceError) -> EcsError {
    match e {
        ServiceError::Domain(d) => from_domain(&d),
        ServiceError::Meta(m) => {
            tracing::error!("metadata error: {m}");
            EcsError::internal()
        }
    }
}

pub(crate) fn dry_run_passed() -> EcsError {
    EcsError::new(
        ErrorCode::DryRunOperation,
        "Request validation has been passed with DryRun flag set.",
    )
}

async fn handle(
    state: &AppState,
    caller: &Caller,
    action: Action,
    params: &stencil_ecs::Params,
    reply: &Reply<'_>,
) -> Result<Rendered, EcsError> {
    let images = &state.images;
    match action {
        Action::DescribeRegions => {
            actions::describe_regions::parse(params)?;
            let list: Vec<(String, String, String)> = images
                .regions()
                .all()
                .iter()
                .map(|r| (r.id.clone(), r.name.clone(), reply.host.to_string()))
                .collect();
            Ok(reply.value(action, actions::describe_regions::render(&list)))
        }
        Action::DescribeImages => {
            let req = actions::describe_images::parse(params)?;
            images
                .regions()
                .get(&req.region)
                .map_err(|e| from_domain(&e))?;
            if let Some(t) = &req.instance_type {
                images.instance_type(t).map_err(|e| from_domain(&e))?;
            }
            if req.dry_run {
                return Err(dry_run_passed());
            }
            let (region, page_number, page_size) =
                (req.region.clone(), req.page_number, req.page_size);
            let page = images.describe(caller, req).await.map_err(service_error)?;
            let viewpoints = images
                .viewpoints(caller, &region, &page.items)
                .await
                .map_err(service_error)?;
            let views = page
                .items
                .iter()
                .zip(&viewpoints)
                .map(|(i, v)| ImageView::new(i, v))
                .collect();
            let body = actions::describe_images::render(
                &region,
                page.total,
                page_number,
                page_size,
                views,
            );
            Ok(reply.typed(action, &body))
        }
        Action::DescribeImageFromFamily => {
            let req = actions::describe_image_from_family::parse(params)?;
            let image = images
                .from_family(caller, &req.region, &req.family)
                .await
                .map_err(service_error)?;
            let images_found: Vec<_> = image.into_iter().collect();
            let viewpoints = images
                .viewpoints(caller, &req.region, &images_found)
                .await
                .map_err(service_error)?;
            let view = images_found
                .iter()
                .zip(&viewpoints)
                .map(|(i, v)| image_view(i, v))
                .next();
            Ok(reply.value(action, actions::describe_image_from_family::render(view)))
        }
        Action::DescribeImageSupportInstanceTypes => {
            let req = actions::describe_image_support_instance_types::parse(params)?;
            let types = images
                .supported_instance_types(caller, &req.region, &req.image_id, req.action_type)
                .await
                .map_err(service_error)?;
            let body = actions::describe_image_support_instance_types::render(
                &req.region,
                &req.image_id,
                &types,
            );
            Ok(reply.value(action, body))
        }
        Action::DescribeInstanceTypes => {
            let req = actions::describe_instance_types::parse(params)?;
            if let Some(region) = params.non_empty("RegionId") {
                images.regions().get(region).map_err(|e| from_domain(&e))?;
            }
            let body =
                actions::describe_instance_types::render(&req, images.instance_types().types());
            Ok(reply.value(action, body))
        }
        Action::ImportImage
        | Action::ExportImage
        | Action::CreateImage
        | Action::ModifyImageAttribute
        | Action::DeleteImage
        | Action::DescribeTasks
        | Action::DescribeTaskAttribute
        | Action::CancelTask
        | Action::DescribeSnapshots
        | Action::DeleteSnapshot
        | Action::TagResources
        | Action::UntagResources
        | Action::ListTagResources
        | Action::CopyImage
        | Action::CancelCopyImage => {
            crate::lifecycle::handle(state, caller, action, params, reply).await
        }
        Action::RunInstances
        | Action::CreateInstance
        | Action::DescribeInstances
        | Action::StartInstance
        | Action::StopInstance
        | Action::DeleteInstance
        | Action::DescribeDisks
        | Action::CreateSnapshot
        | Action::ReplaceSystemDisk
        | Action::ResetDisk
        | Action::ReInitDisk => {
            crate::instances::handle(state, caller, action, params, reply).await
        }
        Action::ModifyImageSharePermission
        | Action::ModifyImageShareGroupPermission
        | Action::DescribeImageSharePermission => {
            crate::sharing::handle(state, caller, action, params, reply).await
        }
    }
}
