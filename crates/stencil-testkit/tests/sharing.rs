//! The sharing rules no API call can set up yet, through the real server: images put into its
//! metadata directly (encrypted disks, a Creating image), then shared with signed requests.
//! The access table itself is tested with the official SDK in `tests/compat/test_sharing.py`.

use stencil_domain::ImageStatus;
use stencil_meta::conformance::sample_image;
use stencil_testkit::{ACCOUNTS, TestServer};

const HZ: &str = "cn-hangzhou";

async fn modify(s: &TestServer, image: &str, params: &[(&str, &str)]) -> Result<(), String> {
    let mut p = vec![("RegionId", HZ), ("ImageId", image)];
    p.extend_from_slice(params);
    s.client()
        .call("ModifyImageSharePermission", &p)
        .await
        .map(|_| ())
        .map_err(|e| format!("{} {}", e.code().unwrap_or("?"), e))
}

fn code_of(result: Result<(), String>) -> String {
    let err = result.expect_err("the request should be refused");
    err.split(' ').next().unwrap().to_string()
}

#[tokio::test]
async fn an_encrypted_image_is_shared_with_accounts_but_never_published() {
    let s = TestServer::start().await;
    let mut img = sample_image(HZ, ACCOUNTS[0].0, "encrypted", 0);
    img.disks[0].encrypted = true;
    s.meta().insert_image(&img).await.unwrap();
    let id = img.id.as_str();
    let err = modify(&s, id, &[("IsPublic", "true")]).await;
    assert_eq!(code_of(err), "InvalidParameter.IsPublic");
    let stored = s.meta().get_image(HZ, id).await.unwrap().unwrap();
    assert!(!stored.is_public, "a refused request changes nothing");
    // Keys are the copy work's (KMS); an encrypted image may still be shared with accounts.
    modify(&s, id, &[("AddAccount.1", ACCOUNTS[1].0)])
        .await
        .unwrap();
    assert_eq!(s.meta().image_share_count(HZ, id).await.unwrap(), 1);
    s.stop().await;
}

#[tokio::test]
async fn only_available_images_are_shared_and_taking_access_away_always_works() {
    let s = TestServer::start().await;
    let mut img = sample_image(HZ, ACCOUNTS[0].0, "creating", 0);
    img.status = ImageStatus::Creating;
    s.meta().insert_image(&img).await.unwrap();
    let id = img.id.as_str();
    for params in [[("AddAccount.1", ACCOUNTS[1].0)], [("IsPublic", "True")]] {
        let err = modify(&s, id, &params).await;
        assert_eq!(code_of(err), "OperationDenied.InvalidImageStatus");
    }
    modify(
        &s,
        id,
        &[("RemoveAccount.1", ACCOUNTS[1].0), ("IsPublic", "false")],
    )
    .await
    .unwrap();
    // DryRun checks and changes nothing.
    let mut ok = sample_image(HZ, ACCOUNTS[0].0, "ready", 1);
    ok.status = ImageStatus::Available;
    s.meta().insert_image(&ok).await.unwrap();
    let err = modify(
        &s,
        ok.id.as_str(),
        &[("AddAccount.1", ACCOUNTS[1].0), ("DryRun", "true")],
    )
    .await;
    assert_eq!(code_of(err), "DryRunOperation");
    let n = s.meta().image_share_count(HZ, ok.id.as_str()).await;
    assert_eq!(n.unwrap(), 0);
    s.stop().await;
}

#[tokio::test]
async fn account_errors_name_the_parameter_as_sent() {
    let s = TestServer::start().await;
    let img = sample_image(HZ, ACCOUNTS[0].0, "named", 0);
    s.meta().insert_image(&img).await.unwrap();
    let id = img.id.as_str();
    let err = modify(
        &s,
        id,
        &[("AddAccount.1", ACCOUNTS[1].0), ("AddAccount.3", "777")],
    )
    .await
    .unwrap_err();
    assert!(err.starts_with("InvalidAccount.NotFound "), "{err}");
    assert!(err.contains("\"AddAccount.3\""), "{err}");
    let err = modify(&s, id, &[("RemoveAccount.2", ACCOUNTS[0].0)])
        .await
        .unwrap_err();
    assert!(err.starts_with("InvalidAccount.Forbbiden "), "{err}");
    assert!(err.contains("\"RemoveAccount.2\""), "{err}");
    s.stop().await;
}

#[tokio::test]
async fn concurrent_shares_never_pass_the_limit_together() {
    let s = TestServer::start_with(|c| c.quotas.share_accounts_per_image = 1).await;
    for round in 0..5 {
        let img = sample_image(HZ, ACCOUNTS[0].0, &format!("race{round}"), round);
        s.meta().insert_image(&img).await.unwrap();
        let id = img.id.as_str();
        let (a, b) = tokio::join!(
            modify(&s, id, &[("AddAccount.1", ACCOUNTS[1].0)]),
            modify(&s, id, &[("AddAccount.1", ACCOUNTS[2].0)]),
        );
        let refused: Vec<_> = [a, b].into_iter().filter_map(Result::err).collect();
        assert_eq!(
            refused.len(),
            1,
            "exactly one of two shares fits: {refused:?}"
        );
        assert!(
            refused[0].starts_with("QuotaExceed.ShareImageUser "),
            "{refused:?}"
        );
        assert_eq!(s.meta().image_share_count(HZ, id).await.unwrap(), 1);
    }
    s.stop().await;
}
