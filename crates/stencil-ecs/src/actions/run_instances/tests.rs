use super::super::common::test_support::{assert_rejects, p, tag};
use super::*;
use serde_json::json;
use stencil_domain::SnapshotId;

fn ok(query: &str) -> RunInstances {
    parse(&p(query)).unwrap().request
}

#[test]
fn a_terraform_style_request_parses_into_the_domain_request() {
    let r = parse(&p(
        "RegionId=cn-hangzhou&ZoneId=cn-hangzhou-h&ImageId=ubuntu_22_04_x64_20G_alibase_20240101.vhd\
         &InstanceType=ecs.g6.large&InstanceName=web-1&Description=Front+end&HostName=web-1.local\
         &Amount=3&MinAmount=2&SystemDisk.Size=60&SystemDisk.Category=cloud_essd&SystemDisk.DiskName=root\
         &SystemDisk.Description=Root+disk&SystemDisk.PerformanceLevel=PL1\
         &DataDisk.2.Size=100&DataDisk.2.Category=cloud_ssd&DataDisk.2.Device=/dev/xvdc&DataDisk.2.DeleteWithInstance=false\
         &DataDisk.1.SnapshotId=s-data1&DataDisk.1.DiskName=data&DataDisk.1.Description=Restored+data\
         &IoOptimized=optimized&Tag.1.Key=env&Tag.1.Value=prod&ClientToken=tok-1\
         &VSwitchId=vsw-1&SecurityGroupId=sg-1&SecurityGroupIds.1=sg-2&InternetChargeType=PayByTraffic\
         &InternetMaxBandwidthOut=5&InstanceChargeType=PostPaid&Password=EcsV587!&KeyPairName=kp\
         &UserData=ZWNobw%3D%3D&SecurityEnhancementStrategy=Active&SpotStrategy=NoSpot",
    ))
    .unwrap();
    assert!(!r.dry_run);
    assert_eq!(
        r.request,
        RunInstances {
            region: "cn-hangzhou".into(),
            zone_id: Some("cn-hangzhou-h".into()),
            image_id: ImageId::parse("ubuntu_22_04_x64_20G_alibase_20240101.vhd"),
            image_family: None,
            instance_type: "ecs.g6.large".into(),
            name: "web-1".into(),
            description: "Front end".into(),
            host_name: "web-1.local".into(),
            amount: 3,
            min_amount: Some(2),
            system_disk: SystemDiskSpec {
                size_gib: Some(60),
                category: Some(DiskCategory::CloudEssd),
                name: "root".into(),
                description: "Root disk".into(),
            },
            data_disks: vec![
                DataDiskSpec {
                    size_gib: None,
                    snapshot_id: SnapshotId::parse("s-data1"),
                    category: None,
                    device: None,
                    delete_with_instance: true,
                    name: "data".into(),
                    description: "Restored data".into(),
                },
                DataDiskSpec {
                    size_gib: Some(100),
                    snapshot_id: None,
                    category: Some(DiskCategory::CloudSsd),
                    device: Some("/dev/xvdc".into()),
                    delete_with_instance: false,
                    name: String::new(),
                    description: String::new(),
                },
            ],
            io_optimized: true,
            tags: vec![tag("env", "prod")],
            client_token: Some("tok-1".into()),
            start: true,
        }
    );
}

#[test]
fn the_defaults_are_one_optimized_instance_from_a_family() {
    let r = parse(&p(
        "RegionId=r&ImageFamily=acs:ubuntu_22_04_x64&InstanceType=ecs.t6.small&DryRun=true",
    ))
    .unwrap();
    assert!(r.dry_run);
    let r = r.request;
    assert_eq!(r.image_id, None);
    assert_eq!(r.image_family.as_deref(), Some("acs:ubuntu_22_04_x64"));
    assert_eq!(
        (r.amount, r.min_amount, r.io_optimized, r.start),
        (1, None, true, true)
    );
    assert_eq!(r.system_disk, SystemDiskSpec::default());
    assert!(r.data_disks.is_empty() && r.tags.is_empty() && r.zone_id.is_none());
    assert_eq!((r.name.as_str(), r.host_name.as_str()), ("", ""));
    assert!(!ok("RegionId=r&ImageId=m-1&InstanceType=t&IoOptimized=None").io_optimized);
}

#[test]
fn system_disk_sizes_follow_the_category_and_default_to_cloud_efficiency() {
    let size = |q: &str| {
        ok(&format!("RegionId=r&ImageId=m-1&InstanceType=t&{q}"))
            .system_disk
            .size_gib
    };
    assert_eq!(size("SystemDisk.Size=20"), Some(20));
    assert_eq!(size("SystemDisk.Size=2048"), Some(2048));
    assert_eq!(
        size("SystemDisk.Size=1&SystemDisk.Category=cloud_essd"),
        Some(1)
    );
    assert_eq!(
        size("SystemDisk.Size=500&SystemDisk.Category=cloud"),
        Some(500)
    );
    let data =
        ok("RegionId=r&ImageId=m-1&InstanceType=t&DataDisk.1.Size=5&DataDisk.1.Category=cloud");
    assert_eq!(data.data_disks[0].size_gib, Some(5));
}

#[test]
fn bad_inputs_get_the_documented_codes() {
    use ErrorCode::*;
    let base = "RegionId=r&ImageId=m-1&InstanceType=t";
    let with = |extra: &str| format!("{base}&{extra}");
    let seventeen = with("DataDisk.17.Size=20");
    let many_tags: String = (1..=21).map(|i| format!("&Tag.{i}.Key=k{i}")).collect();
    let many_tags = format!("{base}{many_tags}");
    let cases: Vec<(String, ErrorCode, u16, &str)> = vec![
        (
            "ImageId=m-1&InstanceType=t".into(),
            MissingParameter,
            400,
            "\"RegionId\"",
        ),
        (
            "RegionId=r&InstanceType=t".into(),
            MissingParameter,
            400,
            "\"ImageId\"",
        ),
        (
            "RegionId=r&ImageId=m-1".into(),
            MissingParameter,
            400,
            "\"InstanceType\"",
        ),
        (
            "RegionId=r&ImageId=m%2F1&InstanceType=t".into(),
            InvalidImageIdNotFound,
            404,
            "ImageId",
        ),
        (
            with("ImageFamily=web"),
            UnexpectedImageFamilyImageIdSupplied,
            400,
            "\"ImageFamily\"",
        ),
        (
            format!("RegionId=r&InstanceType=t&ImageFamily={}", "a".repeat(129)),
            InvalidImageFamilyMalformed,
            400,
            "\"ImageFamily\"",
        ),
        (
            with("LaunchTemplateId=lt-1"),
            UnsupportedParameter,
            400,
            "\"LaunchTemplateId\"",
        ),
        (with("Amount=0"), InvalidAmountMalformed, 403, "\"Amount\""),
        (
            with("Amount=101"),
            InvalidAmountMalformed,
            403,
            "\"Amount\"",
        ),
        (
            with("Amount=two"),
            InvalidAmountMalformed,
            403,
            "\"Amount\"",
        ),
        (
            with("Amount=3&MinAmount=4"),
            InvalidMinAmountMalformed,
            400,
            "\"MinAmount\"",
        ),
        (
            with("MinAmount=0"),
            InvalidMinAmountMalformed,
            400,
            "\"MinAmount\"",
        ),
        (
            with("InstanceName=1web"),
            InvalidInstanceNameMalformed,
            400,
            "\"InstanceName\"",
        ),
        (
            with("InstanceName=w"),
            InvalidInstanceNameMalformed,
            400,
            "\"InstanceName\"",
        ),
        (
            with("Description=x"),
            InvalidDescriptionMalformed,
            400,
            "\"Description\"",
        ),
        (
            with("HostName=-web"),
            InvalidHostNameMalformed,
            400,
            "\"HostName\"",
        ),
        (
            with("IoOptimized=yes"),
            InvalidIoOptimizeValueNotSupported,
            400,
            "\"IoOptimized\"",
        ),
        (
            with("SystemDisk.Size=19"),
            InvalidSystemDiskSizeValueNotSupported,
            400,
            "\"SystemDisk.Size\"",
        ),
        (
            with("SystemDisk.Size=2049"),
            InvalidSystemDiskSizeValueNotSupported,
            400,
            "\"SystemDisk.Size\"",
        ),
        (
            with("SystemDisk.Size=501&SystemDisk.Category=cloud"),
            InvalidSystemDiskSizeValueNotSupported,
            400,
            "\"SystemDisk.Size\"",
        ),
        (
            with("SystemDisk.Size=40GiB"),
            InvalidSystemDiskSizeValueNotSupported,
            400,
            "\"SystemDisk.Size\"",
        ),
        (
            with("SystemDisk.Category=ephemeral_ssd"),
            InvalidSystemDiskCategoryValueNotSupported,
            400,
            "\"SystemDisk.Category\"",
        ),
        (
            with("SystemDisk.DiskName=%20root"),
            InvalidDiskNameMalformed,
            400,
            "\"SystemDisk.DiskName\"",
        ),
        (
            with("SystemDisk.Description=http%3A%2F%2Fx"),
            InvalidDiskDescriptionMalformed,
            400,
            "\"SystemDisk.Description\"",
        ),
        (
            with("SystemDisk.Encrypted=true"),
            InvalidParameterEncryptedNotSupported,
            400,
            "\"SystemDisk.Encrypted\"",
        ),
        (
            with("DataDisk.1.Size=19"),
            InvalidDataDiskSizeValueNotSupported,
            400,
            "\"DataDisk.1.Size\"",
        ),
        (
            with("DataDisk.1.Size=32769"),
            InvalidDataDiskSizeValueNotSupported,
            400,
            "\"DataDisk.1.Size\"",
        ),
        (
            with("DataDisk.1.Size=2001&DataDisk.1.Category=cloud"),
            InvalidDataDiskSizeValueNotSupported,
            400,
            "\"DataDisk.1.Size\"",
        ),
        (
            with("DataDisk.1.Category=cloud_ssd"),
            InvalidDataDiskSizeValueNotSupported,
            400,
            "\"DataDisk.1.Size\"",
        ),
        (
            with("DataDisk.1.Size=20&DataDisk.1.Category=local_ssd_pro"),
            InvalidDataDiskCategoryValueNotSupported,
            400,
            "\"DataDisk.1.Category\"",
        ),
        (
            with("DataDisk.1.SnapshotId=snap-1"),
            InvalidDataDiskSnapshotIdNotFound,
            404,
            "\"DataDisk.1.SnapshotId\"",
        ),
        (
            with("DataDisk.1.Size=20&DataDisk.1.Device=/dev/xvda"),
            InvalidDataDeviceMalformed,
            400,
            "\"DataDisk.1.Device\"",
        ),
        (
            with("DataDisk.1.Size=20&DataDisk.1.Device=/dev/vdb"),
            InvalidDataDeviceMalformed,
            400,
            "\"DataDisk.1.Device\"",
        ),
        (
            with(
                "DataDisk.1.Size=20&DataDisk.1.Device=/dev/xvdb&DataDisk.2.Size=20&DataDisk.2.Device=/dev/xvdb",
            ),
            InvalidDeviceInUse,
            403,
            "\"DataDisk.2.Device\"",
        ),
        (
            with("DataDisk.1.Size=20&DataDisk.1.DeleteWithInstance=sometimes"),
            InvalidParameter,
            400,
            "\"DataDisk.1.DeleteWithInstance\"",
        ),
        (
            with("DataDisk.1.Size=20&DataDisk.1.Encrypted=true"),
            InvalidParameterEncryptedNotSupported,
            400,
            "\"DataDisk.1.Encrypted\"",
        ),
        (
            with("DataDisk.1.Size=20&DataDisk.1.DiskName=a"),
            InvalidDiskNameMalformed,
            400,
            "\"DataDisk.1.DiskName\"",
        ),
        (
            with("DataDisk.1.Size=20&DataDisk.1.Description=x"),
            InvalidDiskDescriptionMalformed,
            400,
            "\"DataDisk.1.Description\"",
        ),
        (seventeen, InstanceDiskNumberLimitExceed, 400, "DataDisk.17"),
        (
            with("DataDisk.01.Size=20"),
            InvalidParameter,
            400,
            "DataDisk.01.Size",
        ),
        (
            with("Tag.1.Key=k&Tag.2.Key=K"),
            DuplicateTagKey,
            400,
            "Tag.2.Key",
        ),
        (
            with("Tag.1.Key=aliyun-x"),
            InvalidTagKeyMalformed,
            400,
            "Tag.1.Key",
        ),
        (many_tags, NumberExceedTags, 400, "Tag.N"),
        (
            with("ClientToken=%E2%9C%93"),
            InvalidClientTokenValueNotSupported,
            400,
            "ClientToken",
        ),
        (with("DryRun=perhaps"), InvalidParameter, 400, "\"DryRun\""),
    ];
    assert_rejects(parse, &cases);
}

#[test]
fn render_lists_the_new_instances() {
    let ids = [
        InstanceId::parse("i-one").unwrap(),
        InstanceId::parse("i-two").unwrap(),
    ];
    assert_eq!(
        render(&ids),
        json!({"InstanceIdSets": {"InstanceIdSet": ["i-one", "i-two"]}})
    );
    assert_eq!(
        render(&[]),
        json!({"InstanceIdSets": {"InstanceIdSet": []}})
    );
}
