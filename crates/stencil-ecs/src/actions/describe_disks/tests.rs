use super::super::common::test_support::{assert_rejects, p, tag};
use super::*;
use chrono::{TimeZone, Utc};
use serde_json::json;
use stencil_domain::{AccountId, DiskId, ImageId, InstanceId, SnapshotId};

#[test]
fn a_terraform_style_request_parses_into_the_domain_request() {
    let r = parse(&p(
        "RegionId=cn-hangzhou&DiskIds=%5B%22d-1%22%2C%22d-2%22%5D&InstanceId=i-1&DiskType=SYSTEM\
         &Category=cloud_essd&Status=In_use&SnapshotId=s-1&DiskName=root&Tag.1.Key=env&Tag.1.Value=prod\
         &DiskChargeType=PostPaid",
    ))
    .unwrap();
    assert!(!r.dry_run);
    assert_eq!(
        r.request,
        DescribeDisks {
            region: "cn-hangzhou".into(),
            disk_ids: vec!["d-1".into(), "d-2".into()],
            instance_id: Some("i-1".into()),
            disk_type: Some(DiskType::System),
            category: Some(DiskCategory::CloudEssd),
            status: Some(DiskStatus::InUse),
            snapshot_id: Some("s-1".into()),
            name: Some("root".into()),
            tags: vec![tag("env", "prod")],
            offset: 0,
            limit: 10,
            token_paging: false,
            page_number: 1,
        }
    );
}

#[test]
fn all_means_no_filter_and_pages_work_either_way() {
    let r = parse(&p(
        "RegionId=r&DiskType=all&Category=all&Status=All&PageNumber=2&PageSize=5&DryRun=true",
    ))
    .unwrap();
    assert!(r.dry_run);
    let r = r.request;
    assert_eq!((r.disk_type, r.category, r.status), (None, None, None));
    assert_eq!((r.offset, r.limit, r.page_number), (5, 5, 2));
    let r = parse(&p("RegionId=r&MaxResults=20")).unwrap().request;
    assert_eq!((r.offset, r.limit, r.token_paging), (0, 20, true));
}

#[test]
fn bad_inputs_get_the_documented_codes() {
    use ErrorCode::*;
    let ids: Vec<String> = (0..=100).map(|i| format!("\"d-{i}\"")).collect();
    let many_ids = format!("RegionId=r&DiskIds=[{}]", ids.join(","));
    assert_rejects(
        parse,
        &[
            ("DiskIds=[]", MissingParameter, 400, "\"RegionId\""),
            (
                many_ids.as_str(),
                InvalidDiskIdsMalformed,
                403,
                "\"DiskIds\"",
            ),
            (
                "RegionId=r&DiskIds=%5B1%2C",
                InvalidParameter,
                400,
                "\"DiskIds\"",
            ),
            (
                "RegionId=r&DiskType=boot",
                InvalidDiskTypeValueNotSupported,
                400,
                "\"DiskType\"",
            ),
            (
                "RegionId=r&Category=ephemeral",
                InvalidCategoryValueNotSupported,
                400,
                "\"Category\"",
            ),
            (
                "RegionId=r&Status=Deleted",
                InvalidStatusValueNotSupported,
                400,
                "\"Status\"",
            ),
            (
                "RegionId=r&Tag.1.Value=v",
                InvalidTagMismatch,
                400,
                "Tag.1.Key",
            ),
            (
                "RegionId=r&MaxResults=0",
                InvalidParameter,
                400,
                "\"MaxResults\"",
            ),
            (
                "RegionId=r&PageNumber=0",
                InvalidParameter,
                400,
                "\"PageNumber\"",
            ),
            (
                "RegionId=r&ZoneId=r-a",
                UnsupportedParameter,
                400,
                "\"ZoneId\"",
            ),
            (
                "RegionId=r&Portable=true",
                UnsupportedParameter,
                400,
                "\"Portable\"",
            ),
            (
                "RegionId=r&Encrypted=false",
                UnsupportedParameter,
                400,
                "\"Encrypted\"",
            ),
            (
                "RegionId=r&DiskChargeType=PrePaid",
                UnsupportedParameter,
                400,
                "\"DiskChargeType\"",
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

fn disk() -> Disk {
    Disk {
        id: DiskId::parse("d-bp1sys").unwrap(),
        region: "cn-hangzhou".into(),
        zone_id: "cn-hangzhou-a".into(),
        owner: AccountId::parse("1234567890123456").unwrap(),
        instance_id: InstanceId::parse("i-bp1abc"),
        name: "root".into(),
        description: "System disk".into(),
        disk_type: DiskType::System,
        category: DiskCategory::CloudEssd,
        size_gib: 40,
        device: "/dev/xvda".into(),
        status: DiskStatus::InUse,
        creation_time: Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap(),
        attached_time: Some(Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 10).unwrap()),
        image_id: ImageId::parse("m-bp1img"),
        source_snapshot_id: SnapshotId::parse("s-bp1src"),
        delete_with_instance: true,
        product_code: String::new(),
        encrypted: false,
        kms_key_id: String::new(),
        base_index: "disk-d-bp1sys-g0".into(),
        generation: 0,
        node: String::new(),
        tags: vec![tag("env", "prod")],
    }
}

#[test]
fn render_uses_the_sdk_declared_types() {
    let req = parse(&p("RegionId=cn-hangzhou&MaxResults=1"))
        .unwrap()
        .request;
    let rows = [disk()];
    let body = serde_json::to_value(render(&req, 2, &rows)).unwrap();
    assert_eq!(
        (
            &body["TotalCount"],
            &body["PageNumber"],
            &body["PageSize"],
            &body["NextToken"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!("1"))
    );
    let item = &body["Disks"]["Disk"][0];
    let expected = json!({
        "DiskId": "d-bp1sys", "DiskName": "root", "Description": "System disk",
        "RegionId": "cn-hangzhou", "ZoneId": "cn-hangzhou-a", "Type": "system",
        "Category": "cloud_essd", "Size": 40, "Device": "/dev/xvda", "Status": "In_use",
        "InstanceId": "i-bp1abc", "ImageId": "m-bp1img", "SourceSnapshotId": "s-bp1src",
        "CreationTime": "2024-05-06T07:08:09Z", "AttachedTime": "2024-05-06T07:08:10Z",
        "DeleteWithInstance": true, "DeleteAutoSnapshot": false, "EnableAutoSnapshot": false,
        "Portable": false, "Encrypted": false, "KMSKeyId": "", "ProductCode": "",
        "PerformanceLevel": "PL1", "DiskChargeType": "PostPaid", "IOPS": 0,
        "OperationLocks": {"OperationLock": []}, "MountInstances": {"MountInstance": []},
        "Attachments": {"Attachment": [
            {"InstanceId": "i-bp1abc", "Device": "/dev/xvda", "AttachedTime": "2024-05-06T07:08:10Z"}
        ]},
        "Tags": {"Tag": [{"TagKey": "env", "TagValue": "prod"}]},
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&item[key], value, "{key}");
    }
}

#[test]
fn detached_data_disks_are_portable_and_have_no_attachment() {
    let mut d = disk();
    d.disk_type = DiskType::Data;
    d.category = DiskCategory::CloudEfficiency;
    d.instance_id = None;
    d.attached_time = None;
    d.status = DiskStatus::Available;
    d.image_id = None;
    d.source_snapshot_id = None;
    let req = parse(&p("RegionId=r")).unwrap().request;
    let rows = [d];
    let body = serde_json::to_value(render(&req, 1, &rows)).unwrap();
    assert_eq!(body["NextToken"], "");
    let item = &body["Disks"]["Disk"][0];
    assert_eq!(item["Portable"], true);
    assert_eq!(item["PerformanceLevel"], "");
    assert_eq!(
        (&item["InstanceId"], &item["Device"]),
        (&json!(""), &json!(""))
    );
    assert_eq!(
        (&item["ImageId"], &item["SourceSnapshotId"]),
        (&json!(""), &json!(""))
    );
    assert_eq!(item["Attachments"], json!({"Attachment": []}));
    let empty = serde_json::to_value(render(&req, 0, &[])).unwrap();
    assert_eq!(empty["Disks"], json!({"Disk": []}));
}
