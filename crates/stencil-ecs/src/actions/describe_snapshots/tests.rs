use super::super::common::test_support::{assert_rejects, p, tag};
use super::*;
use chrono::{TimeZone, Utc};
use serde_json::json;
use stencil_domain::{DiskType, SnapshotId};

#[test]
fn a_terraform_style_request_parses_into_the_domain_request() {
    let r = parse(&p(
        "RegionId=cn-hangzhou&SnapshotIds=%5B%22s-1%22%2C%22s-2%22%5D&Status=Accomplished\
         &SnapshotType=all&SourceDiskType=System&Usage=image&Encrypted=false&DiskId=d-1\
         &SnapshotName=nightly&Category=standard&Tag.1.Key=env&Tag.1.Value=prod&Tag.2.Key=team",
    ))
    .unwrap();
    assert!(!r.dry_run);
    assert_eq!(
        r.request,
        DescribeSnapshots {
            region: "cn-hangzhou".into(),
            snapshot_ids: vec!["s-1".into(), "s-2".into()],
            name: Some("nightly".into()),
            status: Some(SnapshotStatus::Accomplished),
            disk_type: Some(DiskType::System),
            usage: Some(SnapshotUsage::Image),
            encrypted: Some(false),
            disk_id: Some("d-1".into()),
            tags: vec![tag("env", "prod"), tag("team", ""),],
            offset: 0,
            limit: 10,
            token_paging: false,
            page_number: 1,
        }
    );
}

#[test]
fn page_paging_skips_whole_pages_and_status_all_is_no_filter() {
    let r = parse(&p(
        "RegionId=r&PageNumber=3&PageSize=20&Status=all&DryRun=true",
    ))
    .unwrap();
    assert!(r.dry_run);
    let r = r.request;
    assert_eq!((r.offset, r.limit, r.page_number), (40, 20, 3));
    assert!(!r.token_paging);
    assert_eq!(r.status, None);
}

#[test]
fn token_paging_starts_with_max_results_and_continues_from_the_token() {
    let r = parse(&p("RegionId=r&MaxResults=50")).unwrap().request;
    assert_eq!((r.offset, r.limit, r.token_paging), (0, 50, true));
    let r = parse(&p("RegionId=r&NextToken=50&MaxResults=50"))
        .unwrap()
        .request;
    assert_eq!((r.offset, r.limit, r.token_paging), (50, 50, true));
    let r = parse(&p("RegionId=r&NextToken=10")).unwrap().request;
    assert_eq!((r.offset, r.limit), (10, 10));
    let r = parse(&p("RegionId=r&SnapshotIds=s-1,s-2")).unwrap().request;
    assert_eq!(r.snapshot_ids, ["s-1", "s-2"]);
}

#[test]
fn bad_inputs_get_the_documented_codes() {
    use ErrorCode::*;
    let ids: Vec<String> = (0..=100).map(|i| format!("\"s-{i}\"")).collect();
    let many_ids = format!("RegionId=r&SnapshotIds=[{}]", ids.join(","));
    let many_tags: String = (1..=21).map(|i| format!("&Tag.{i}.Key=k{i}")).collect();
    let many_tags = format!("RegionId=r{many_tags}");
    assert_rejects(
        parse,
        &[
            ("SnapshotIds=[]", MissingParameter, 400, "\"RegionId\""),
            (
                "RegionId=r&SnapshotIds=%5B%22s-1%22",
                InvalidParameter,
                400,
                "\"SnapshotIds\"",
            ),
            (
                "RegionId=r&SnapshotIds=%5B%7B%7D%5D",
                InvalidParameter,
                400,
                "\"SnapshotIds\"",
            ),
            (many_ids.as_str(), InvalidParameter, 400, "\"SnapshotIds\""),
            (
                "RegionId=r&Status=done",
                InvalidParameter,
                400,
                "\"Status\"",
            ),
            (
                "RegionId=r&SnapshotType=auto",
                InvalidParameter,
                400,
                "\"SnapshotType\"",
            ),
            (
                "RegionId=r&SnapshotType=timer",
                InvalidParameter,
                400,
                "\"SnapshotType\"",
            ),
            (
                "RegionId=r&Category=archive",
                InvalidParameter,
                400,
                "\"Category\"",
            ),
            (
                "RegionId=r&SourceDiskType=boot",
                InvalidParameter,
                400,
                "\"SourceDiskType\"",
            ),
            (
                "RegionId=r&Usage=instance",
                InvalidParameter,
                400,
                "\"Usage\"",
            ),
            (
                "RegionId=r&Encrypted=yes",
                InvalidParameter,
                400,
                "\"Encrypted\"",
            ),
            (
                "RegionId=r&Tag.1.Value=v",
                InvalidTagMismatch,
                400,
                "Tag.1.Key",
            ),
            (many_tags.as_str(), InvalidTagCount, 400, "Tag.N"),
            (
                "RegionId=r&MaxResults=101",
                InvalidParameter,
                400,
                "\"MaxResults\"",
            ),
            (
                "RegionId=r&MaxResults=0",
                InvalidParameter,
                400,
                "\"MaxResults\"",
            ),
            (
                "RegionId=r&NextToken=page2",
                InvalidParameter,
                400,
                "\"NextToken\"",
            ),
            (
                "RegionId=r&PageSize=0",
                InvalidParameter,
                400,
                "\"PageSize\"",
            ),
            (
                "RegionId=r&PageNumber=x",
                InvalidParameter,
                400,
                "\"PageNumber\"",
            ),
            (
                "RegionId=r&InstanceId=i-1",
                UnsupportedParameter,
                400,
                "\"InstanceId\"",
            ),
            (
                "RegionId=r&ResourceGroupId=rg-1",
                UnsupportedParameter,
                400,
                "\"ResourceGroupId\"",
            ),
            (
                "RegionId=r&Filter.1.Key=CreationStartTime&Filter.1.Value=2020-01-01T00%3A00Z",
                UnsupportedParameter,
                400,
                "\"Filter\"",
            ),
            (
                "RegionId=r&DryRun=maybe",
                InvalidParameter,
                400,
                "\"DryRun\"",
            ),
        ],
    );
}

fn snapshot() -> Snapshot {
    Snapshot {
        id: SnapshotId::parse("s-bp1abc").unwrap(),
        region: "cn-hangzhou".into(),
        owner: None,
        name: "nightly".into(),
        description: "Nightly backup".into(),
        status: SnapshotStatus::Accomplished,
        progress: 100,
        creation_time: Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap(),
        source_disk_id: "d-bp1xyz".into(),
        source_disk_size_gib: 40,
        source_disk_type: DiskType::System,
        virtual_size: 40 << 30,
        data_bytes: 1_234_567,
        encrypted: false,
        kms_key_id: String::new(),
        source_image_id: "m-1".into(),
        resource_group_id: "rg-1".into(),
        tags: vec![tag("env", "prod")],
    }
}

#[test]
fn render_uses_the_sdk_declared_types() {
    let rows = [(snapshot(), SnapshotUsage::Image)];
    let body = serde_json::to_value(render(31, 1, 10, Some("10".into()), &rows)).unwrap();
    let mut item = json!({
        "SnapshotId": "s-bp1abc", "SnapshotName": "nightly", "SnapshotSN": "",
        "Description": "Nightly backup", "Status": "accomplished", "Progress": "100%",
        "CreationTime": "2024-05-06T07:08:09Z", "LastModifiedTime": "2024-05-06T07:08:09Z",
        "SourceDiskId": "d-bp1xyz", "SourceDiskSize": "40", "SourceDiskType": "system",
        "SourceStorageType": "disk", "SnapshotType": "user", "Usage": "image",
    });
    let rest = json!({
        "ProductCode": "", "Encrypted": false, "KMSKeyId": "", "Available": true,
        "InstantAccess": false, "InstantAccessRetentionDays": 0, "RetentionDays": 0,
        "RemainTime": 0, "Category": "standard", "SnapshotLinkId": "",
        "RegionId": "cn-hangzhou", "ResourceGroupId": "rg-1", "SourceRegionId": "",
        "SourceSnapshotId": "", "FullSnapshotSizeInBytes": 1_234_567,
        "Tags": {"Tag": [{"TagKey": "env", "TagValue": "prod"}]}
    });
    if let (Some(item), Some(rest)) = (item.as_object_mut(), rest.as_object()) {
        item.extend(rest.clone());
    }
    assert_eq!(
        body,
        json!({
            "TotalCount": 31, "PageNumber": 1, "PageSize": 10, "NextToken": "10",
            "Snapshots": {"Snapshot": [item]}
        })
    );
}

#[test]
fn render_of_the_last_page_has_an_empty_token_and_unfinished_snapshots_are_unavailable() {
    let mut s = snapshot();
    s.status = SnapshotStatus::Progressing;
    s.progress = 42;
    let rows = [(s, SnapshotUsage::None)];
    let body = serde_json::to_value(render(1, 1, 10, None, &rows)).unwrap();
    assert_eq!(body["NextToken"], "");
    let item = &body["Snapshots"]["Snapshot"][0];
    assert_eq!(item["Available"], false);
    assert_eq!(item["Progress"], "42%");
    assert_eq!(item["Usage"], "none");
    let empty = serde_json::to_value(render(0, 1, 10, None, &[])).unwrap();
    assert_eq!(empty["Snapshots"], json!({"Snapshot": []}));
}
