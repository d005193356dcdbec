//! Dispatch of the lifecycle actions: parse, call the service, render.

use stencil_core::{Caller, SnapshotView};
use stencil_domain::TagResourceType;
use stencil_ecs::actions::{self, Action, next_token};
use stencil_ecs::{EcsError, Params, Rendered};

use crate::dispatch::{Reply, dry_run_passed, service_error};
use crate::state::AppState;

/// Handles one lifecycle action (`dispatch` sends only those here).
pub(crate) async fn handle(
    state: &AppState,
    caller: &Caller,
    action: Action,
    params: &Params,
    reply: &Reply<'_>,
) -> Result<Rendered, EcsError> {
    let lc = &state.lifecycle;
    match action {
        Action::ImportImage => {
            run(async {
                let p = actions::import_image::parse(params)?;
                let region = p.request.region.clone();
                match lc
                    .import_image(caller, p.request, p.dry_run)
                    .await
                    .map_err(service_error)?
                {
                    Some(i) => Ok(reply.value(
                        action,
                        actions::import_image::render(&region, &i.image_id, &i.task_id),
                    )),
                    None => Err(dry_run_passed()),
                }
            })
            .await
        }
        Action::ExportImage => {
            run(async {
                let p = actions::export_image::parse(params)?;
                let region = p.request.region.clone();
                match lc
                    .export_image(caller, p.request, p.dry_run)
                    .await
                    .map_err(service_error)?
                {
                    Some(task) => {
                        Ok(reply.value(action, actions::export_image::render(&region, &task)))
                    }
                    None => Err(dry_run_passed()),
                }
            })
            .await
        }
        Action::CreateImage => {
            run(async {
                let p = actions::create_image::parse(params)?;
                // InstanceId wins over the other sources (reference §5.2).
                let created = if p.request.instance_id.is_some() {
                    state
                        .instances
                        .create_image_from_instance(caller, p.request, p.dry_run)
                        .await
                } else {
                    lc.create_image(caller, p.request, p.dry_run).await
                };
                match created.map_err(service_error)? {
                    Some(id) => Ok(reply.value(action, actions::create_image::render(&id))),
                    None => Err(dry_run_passed()),
                }
            })
            .await
        }
        Action::CopyImage => {
            run(async {
                let p = actions::copy_image::parse(params)?;
                match lc
                    .copy_image(caller, p.request, p.dry_run)
                    .await
                    .map_err(service_error)?
                {
                    Some(id) => Ok(reply.value(action, actions::copy_image::render(&id))),
                    None => Err(dry_run_passed()),
                }
            })
            .await
        }
        Action::CancelCopyImage => {
            run(async {
                let p = actions::copy_image::parse_cancel(params)?;
                if p.dry_run {
                    return Err(dry_run_passed());
                }
                lc.cancel_copy_image(caller, &p.request)
                    .await
                    .map_err(service_error)?;
                Ok(reply.value(action, actions::copy_image::render_cancel()))
            })
            .await
        }
        Action::ModifyImageAttribute => {
            run(async {
                let p = actions::modify_image_attribute::parse(params)?;
                let dry = p.dry_run;
                lc.modify_image(caller, p.request, dry)
                    .await
                    .map_err(service_error)?;
                done(
                    dry,
                    reply.value(action, actions::modify_image_attribute::render()),
                )
            })
            .await
        }
        Action::DeleteImage => {
            run(async {
                let p = actions::delete_image::parse(params)?;
                let dry = p.dry_run;
                lc.delete_image(caller, p.request, dry)
                    .await
                    .map_err(service_error)?;
                done(dry, reply.value(action, actions::delete_image::render()))
            })
            .await
        }
        Action::DescribeTasks => {
            run(async {
                let p = actions::describe_tasks::parse(params)?;
                let req = p.request;
                let page = lc
                    .describe_tasks(caller, &req)
                    .await
                    .map_err(service_error)?;
                if p.dry_run {
                    return Err(dry_run_passed());
                }
                let body = actions::describe_tasks::render(
                    &req.region,
                    page.total,
                    req.page_number,
                    req.page_size,
                    &page.items,
                );
                Ok(reply.typed(action, &body))
            })
            .await
        }
        Action::DescribeTaskAttribute => {
            run(async {
                let p = actions::describe_task_attribute::parse(params)?;
                let task = lc.task(caller, &p.request).await.map_err(service_error)?;
                if p.dry_run {
                    return Err(dry_run_passed());
                }
                Ok(reply.typed(action, &actions::describe_task_attribute::render(&task)))
            })
            .await
        }
        Action::CancelTask => {
            run(async {
                let p = actions::cancel_task::parse(params)?;
                if p.dry_run {
                    lc.task(caller, &p.request).await.map_err(service_error)?;
                    return Err(dry_run_passed());
                }
                lc.cancel_task(caller, &p.request)
                    .await
                    .map_err(service_error)?;
                Ok(reply.value(action, actions::cancel_task::render()))
            })
            .await
        }
        Action::DescribeSnapshots => {
            run(async {
                let p = actions::describe_snapshots::parse(params)?;
                let req = p.request;
                let page = lc
                    .describe_snapshots(caller, &req)
                    .await
                    .map_err(service_error)?;
                if p.dry_run {
                    return Err(dry_run_passed());
                }
                let rows: Vec<_> = page
                    .items
                    .into_iter()
                    .map(|SnapshotView { snapshot, usage }| (snapshot, usage))
                    .collect();
                let token = if req.token_paging {
                    next_token(req.offset, rows.len(), page.total)
                } else {
                    None
                };
                let body = actions::describe_snapshots::render(
                    page.total,
                    req.page_number,
                    req.limit,
                    token,
                    &rows,
                );
                Ok(reply.typed(action, &body))
            })
            .await
        }
        Action::DeleteSnapshot => {
            run(async {
                let p = actions::delete_snapshot::parse(params)?;
                if p.dry_run {
                    return Err(dry_run_passed());
                }
                lc.delete_snapshot(caller, &p.request)
                    .await
                    .map_err(service_error)?;
                Ok(reply.value(action, actions::delete_snapshot::render()))
            })
            .await
        }
        Action::TagResources => {
            run(async {
                let p = actions::tag_resources::parse(params)?;
                if p.dry_run {
                    return Err(dry_run_passed());
                }
                lc.tag_resources(caller, &p.request)
                    .await
                    .map_err(service_error)?;
                Ok(reply.value(action, actions::tag_resources::render()))
            })
            .await
        }
        Action::UntagResources => {
            run(async {
                let p = actions::untag_resources::parse(params)?;
                if p.dry_run {
                    return Err(dry_run_passed());
                }
                lc.untag_resources(caller, &p.request)
                    .await
                    .map_err(service_error)?;
                Ok(reply.value(action, actions::untag_resources::render()))
            })
            .await
        }
        Action::ListTagResources => {
            run(async {
                let p = actions::list_tag_resources::parse(params)?;
                let req = p.request;
                let (rows, more) = lc
                    .list_tag_resources(caller, &req)
                    .await
                    .map_err(service_error)?;
                if p.dry_run {
                    return Err(dry_run_passed());
                }
                let token = more.then(|| (req.offset + rows.len() as u64).to_string());
                let kind: TagResourceType = req.resource_type;
                let rows: Vec<_> = rows
                    .into_iter()
                    .map(|r| (r.resource_id, kind, r.key, r.value))
                    .collect();
                Ok(reply.typed(action, &actions::list_tag_resources::render(token, &rows)))
            })
            .await
        }
        other => {
            tracing::error!(action = other.name(), "not a lifecycle action");
            Err(EcsError::internal())
        }
    }
}

async fn run(
    f: impl std::future::Future<Output = Result<Rendered, EcsError>>,
) -> Result<Rendered, EcsError> {
    f.await
}

/// The success reply, or `DryRunOperation` when only checking.
pub(crate) fn done(dry_run: bool, rendered: Rendered) -> Result<Rendered, EcsError> {
    if dry_run {
        Err(dry_run_passed())
    } else {
        Ok(rendered)
    }
}
