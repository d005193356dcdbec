use super::super::common::test_support::{assert_rejects, p, tag};
use super::*;
use chrono::{TimeZone, Utc};
use serde_json::json;
use stencil_domain::{AccountId, Architecture, DiskId, ImageId, InstanceId, OsType};

#[test]
fn a_terraform_style_request_parses_into_the_domain_request() {
    let r = parse(&p(
        "RegionId=cn-hangzhou&InstanceIds=%5B%22i-1%22%2C%22i-2%22%5D&Status=running&ImageId=m-1\
         &InstanceName=web&InstanceType=ecs.g6.large&Tag.1.Key=env&Tag.1.Value=prod&Tag.2.Key=team\
         &InstanceNetworkType=VPC&InstanceChargeType=PostPaid&NeedSaleCycle=false",
    ))
    .unwrap();
    assert!(!r.dry_run);
    assert_eq!(
        r.request,
        DescribeInstances {
            region: "cn-hangzhou".into(),
            instance_ids: vec!["i-1".into(), "i-2".into()],
            status: Some(InstanceStatus::Running),
            image_id: Some("m-1".into()),
            name: Some("web".into()),
            instance_type: Some("ecs.g6.large".into()),
            tags: vec![tag("env", "prod"), tag("team", "")],
            offset: 0,
            limit: 10,
            token_paging: false,
            page_number: 1,
        }
    );
}

#[test]
fn pages_and_tokens() {
    let r = parse(&p("RegionId=r&PageNumber=3&PageSize=20&DryRun=true")).unwrap();
    assert!(r.dry_run);
    let r = r.request;
    assert_eq!(
        (r.offset, r.limit, r.page_number, r.token_paging),
        (40, 20, 3, false)
    );
    let r = parse(&p("RegionId=r&NextToken=50&MaxResults=50"))
        .unwrap()
        .request;
    assert_eq!((r.offset, r.limit, r.token_paging), (50, 50, true));
    let r = parse(&p("RegionId=r&InstanceIds=i-1,i-2")).unwrap().request;
    assert_eq!(r.instance_ids, ["i-1", "i-2"]);
}

#[test]
fn bad_inputs_get_the_documented_codes() {
    use ErrorCode::*;
    let ids: Vec<String> = (0..=100).map(|i| format!("\"i-{i}\"")).collect();
    let many_ids = format!("RegionId=r&InstanceIds=[{}]", ids.join(","));
    let many_tags: String = (1..=21).map(|i| format!("&Tag.{i}.Key=k{i}")).collect();
    let many_tags = format!("RegionId=r{many_tags}");
    assert_rejects(
        parse,
        &[
            ("InstanceIds=[]", MissingParameter, 400, "\"RegionId\""),
            (
                "RegionId=r&InstanceIds=%5B%22i-1%22",
                InvalidParameter,
                400,
                "\"InstanceIds\"",
            ),
            (many_ids.as_str(), InvalidParameter, 400, "\"InstanceIds\""),
            (
                "RegionId=r&Status=Deleted",
                InvalidParameter,
                400,
                "\"Status\"",
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
                "RegionId=r&NextToken=abc",
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
                "RegionId=r&ZoneId=r-a",
                UnsupportedParameter,
                400,
                "\"ZoneId\"",
            ),
            (
                "RegionId=r&VpcId=vpc-1",
                UnsupportedParameter,
                400,
                "\"VpcId\"",
            ),
            (
                "RegionId=r&SecurityGroupId=sg-1",
                UnsupportedParameter,
                400,
                "\"SecurityGroupId\"",
            ),
            (
                "RegionId=r&PrivateIpAddresses=%5B%2210.0.0.1%22%5D",
                UnsupportedParameter,
                400,
                "\"PrivateIpAddresses\"",
            ),
            (
                "RegionId=r&IoOptimized=true",
                UnsupportedParameter,
                400,
                "\"IoOptimized\"",
            ),
            (
                "RegionId=r&InstanceNetworkType=classic",
                UnsupportedParameter,
                400,
                "\"InstanceNetworkType\"",
            ),
            (
                "RegionId=r&InstanceChargeType=PrePaid",
                UnsupportedParameter,
                400,
                "\"InstanceChargeType\"",
            ),
            (
                "RegionId=r&Filter.1.Key=CreationStartTime",
                UnsupportedParameter,
                400,
                "\"Filter\"",
            ),
            (
                "RegionId=r&NeedSaleCycle=1",
                InvalidParameter,
                400,
                "\"NeedSaleCycle\"",
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

fn instance() -> Instance {
    Instance {
        id: InstanceId::parse("i-bp1abc").unwrap(),
        region: "cn-hangzhou".into(),
        zone_id: "cn-hangzhou-a".into(),
        owner: AccountId::parse("1234567890123456").unwrap(),
        name: "web-1".into(),
        description: "Front end".into(),
        host_name: "web-1".into(),
        instance_type: "ecs.g6.large".into(),
        cpu: 2,
        memory_mib: 8192,
        image_id: ImageId::parse("m-bp1img").unwrap(),
        os_type: OsType::Linux,
        os_name: "Ubuntu 22.04 64位".into(),
        architecture: Architecture::X86_64,
        status: InstanceStatus::Running,
        creation_time: Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap(),
        start_time: Some(Utc.with_ymd_and_hms(2024, 5, 6, 7, 9, 59).unwrap()),
        system_disk: DiskId::parse("d-sys").unwrap(),
        data_disks: vec![DiskId::parse("d-data").unwrap()],
        product_code: String::new(),
        io_optimized: true,
        tags: vec![tag("env", "prod")],
    }
}

#[test]
fn render_uses_the_sdk_declared_types() {
    let req = parse(&p("RegionId=cn-hangzhou&PageSize=1"))
        .unwrap()
        .request;
    let rows = [instance()];
    let body = serde_json::to_value(render(&req, 3, &rows)).unwrap();
    assert_eq!(
        (
            &body["TotalCount"],
            &body["PageNumber"],
            &body["PageSize"],
            &body["NextToken"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!("1"))
    );
    let item = &body["Instances"]["Instance"][0];
    let expected = json!({
        "InstanceId": "i-bp1abc", "InstanceName": "web-1", "Description": "Front end",
        "HostName": "web-1", "RegionId": "cn-hangzhou", "ZoneId": "cn-hangzhou-a",
        "InstanceType": "ecs.g6.large", "InstanceTypeFamily": "ecs.g6", "Cpu": 2, "Memory": 8192,
        "ImageId": "m-bp1img", "OSName": "Ubuntu 22.04 64位", "OSNameEn": "Ubuntu 22.04 64位",
        "OSType": "linux", "Status": "Running", "CreationTime": "2024-05-06T07:08Z",
        "StartTime": "2024-05-06T07:09Z", "InstanceChargeType": "PostPaid",
        "InternetChargeType": "PayByTraffic", "IoOptimized": true, "InstanceNetworkType": "vpc",
        "StoppedMode": "Not-applicable", "SpotStrategy": "NoSpot", "SpotPriceLimit": 0.0,
        "InternetMaxBandwidthIn": 0, "InternetMaxBandwidthOut": 0, "DeviceAvailable": true,
        "Tags": {"Tag": [{"TagKey": "env", "TagValue": "prod"}]},
        "PublicIpAddress": {"IpAddress": []}, "InnerIpAddress": {"IpAddress": []},
        "SecurityGroupIds": {"SecurityGroupId": []},
        "NetworkInterfaces": {"NetworkInterface": []},
        "OperationLocks": {"LockReason": []},
        "VpcAttributes": {"VpcId": "", "VSwitchId": "", "NatIpAddress": "", "PrivateIpAddress": {"IpAddress": []}},
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&item[key], value, "{key}");
    }
    let serial = item["SerialNumber"].as_str().unwrap();
    assert_eq!(serial.len(), 36);
    assert_eq!(serial.matches('-').count(), 4);
    let again = serde_json::to_value(render(&req, 3, &rows)).unwrap();
    assert_eq!(again["Instances"]["Instance"][0]["SerialNumber"], serial);
}

#[test]
fn stopped_instances_keep_charging_and_the_last_page_has_no_token() {
    let mut i = instance();
    i.status = InstanceStatus::Stopped;
    i.start_time = None;
    let req = parse(&p("RegionId=r")).unwrap().request;
    let rows = [i];
    let body = serde_json::to_value(render(&req, 1, &rows)).unwrap();
    assert_eq!(body["NextToken"], "");
    let item = &body["Instances"]["Instance"][0];
    assert_eq!(item["StoppedMode"], "KeepCharging");
    assert_eq!(item["StartTime"], "");
    let empty = serde_json::to_value(render(&req, 0, &[])).unwrap();
    assert_eq!(empty["Instances"], json!({"Instance": []}));
}

#[test]
fn instance_type_families_are_the_first_two_parts() {
    assert_eq!(instance_type_family("ecs.g6.large"), "ecs.g6");
    assert_eq!(instance_type_family("ecs.g6"), "ecs.g6");
    assert_eq!(instance_type_family("custom"), "custom");
}
