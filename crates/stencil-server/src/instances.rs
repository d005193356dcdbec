//! Dispatch of the instance and disk actions: parse, call the service, render.

use stencil_core::Caller;
use stencil_ecs::actions::{self, Action};
use stencil_ecs::{EcsError, Params, Rendered};

use crate::dispatch::{Reply, dry_run_passed, service_error};
use crate::lifecycle::done;
use crate::state::AppState;

/// Handles one instance or disk action (`dispatch` sends only those here).
pub(crate) async fn handle(
    state: &AppState,
    caller: &Caller,
    action: Action,
    params: &Params,
    reply: &Reply<'_>,
) -> Result<Rendered, EcsError> {
    let svc = &state.instances;
    match action {
        Action::RunInstances | Action::CreateInstance => {
            let p = if action == Action::RunInstances {
                actions::run_instances::parse(params)?
            } else {
                actions::create_instance::parse(params)?
            };
            let ids = svc
                .run_instances(caller, p.request, p.dry_run)
                .await
                .map_err(service_error)?
                .ok_or_else(dry_run_passed)?;
            let body = match (action, ids.first()) {
                (Action::CreateInstance, Some(id)) => actions::create_instance::render(id),
                _ => actions::run_instances::render(&ids),
            };
            Ok(reply.value(action, body))
        }
        Action::DescribeInstances => {
            let p = actions::describe_instances::parse(params)?;
            let page = svc
                .describe_instances(caller, &p.request)
                .await
                .map_err(service_error)?;
            if p.dry_run {
                return Err(dry_run_passed());
            }
            let body = actions::describe_instances::render(&p.request, page.total, &page.items);
            Ok(reply.typed(action, &body))
        }
        Action::StartInstance | Action::StopInstance | Action::DeleteInstance => {
            let p = match action {
                Action::StartInstance => actions::start_instance::parse(params)?,
                Action::StopInstance => actions::stop_instance::parse(params)?,
                _ => actions::delete_instance::parse(params)?,
            };
            let r = match action {
                Action::StartInstance => svc.start_instance(caller, &p.request, p.dry_run).await,
                Action::StopInstance => svc.stop_instance(caller, &p.request, p.dry_run).await,
                _ => svc.delete_instance(caller, &p.request, p.dry_run).await,
            };
            r.map_err(service_error)?;
            done(p.dry_run, reply.value(action, serde_json::json!({})))
        }
        Action::DescribeDisks => {
            let p = actions::describe_disks::parse(params)?;
            let page = svc
                .describe_disks(caller, &p.request)
                .await
                .map_err(service_error)?;
            if p.dry_run {
                return Err(dry_run_passed());
            }
            let body = actions::describe_disks::render(&p.request, page.total, &page.items);
            Ok(reply.typed(action, &body))
        }
        Action::CreateSnapshot => {
            let p = actions::create_snapshot::parse(params)?;
            let id = svc
                .create_snapshot(caller, p.request, p.dry_run)
                .await
                .map_err(service_error)?
                .ok_or_else(dry_run_passed)?;
            Ok(reply.value(action, actions::create_snapshot::render(&id)))
        }
        Action::ReplaceSystemDisk => {
            let p = actions::replace_system_disk::parse(params)?;
            let id = svc
                .replace_system_disk(caller, p.request, p.dry_run)
                .await
                .map_err(service_error)?
                .ok_or_else(dry_run_passed)?;
            Ok(reply.value(action, actions::replace_system_disk::render(&id)))
        }
        Action::ResetDisk | Action::ReInitDisk => {
            let p = if action == Action::ResetDisk {
                actions::reset_disk::parse(params)?
            } else {
                actions::reinit_disk::parse(params)?
            };
            svc.reset_disk(caller, &p.request, p.dry_run)
                .await
                .map_err(service_error)?;
            done(p.dry_run, reply.value(action, serde_json::json!({})))
        }
        other => {
            tracing::error!(action = other.name(), "not an instance action");
            Err(EcsError::internal())
        }
    }
}
