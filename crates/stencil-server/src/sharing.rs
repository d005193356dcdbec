//! Dispatch of the sharing actions: parse, call the service, render.

use stencil_core::Caller;
use stencil_ecs::actions::{self, Action};
use stencil_ecs::{EcsError, Params, Rendered};

use crate::dispatch::{Reply, service_error};
use crate::lifecycle::done;
use crate::state::AppState;

/// Handles one sharing action (`dispatch` sends only those here).
pub(crate) async fn handle(
    state: &AppState,
    caller: &Caller,
    action: Action,
    params: &Params,
    reply: &Reply<'_>,
) -> Result<Rendered, EcsError> {
    let sharing = &state.sharing;
    match action {
        Action::ModifyImageSharePermission | Action::ModifyImageShareGroupPermission => {
            let p = if action == Action::ModifyImageSharePermission {
                actions::modify_image_share_permission::parse(params)?
            } else {
                actions::modify_image_share_group_permission::parse(params)?
            };
            let dry = p.dry_run;
            sharing
                .modify(caller, p.request, dry)
                .await
                .map_err(service_error)?;
            done(
                dry,
                reply.value(action, actions::modify_image_share_permission::render()),
            )
        }
        Action::DescribeImageSharePermission => {
            let req = actions::describe_image_share_permission::parse(params)?;
            let found = sharing
                .describe(caller, &req)
                .await
                .map_err(service_error)?;
            let shares: Vec<_> = found
                .accounts
                .items
                .into_iter()
                .map(|s| (s.account, s.shared_at))
                .collect();
            let body = actions::describe_image_share_permission::render(
                &req,
                &shares,
                found.accounts.total,
                found.public,
            );
            Ok(reply.typed(action, &body))
        }
        other => {
            tracing::error!(action = other.name(), "not a sharing action");
            Err(EcsError::internal())
        }
    }
}
