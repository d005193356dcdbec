//! DescribeRegions, DescribeImages, DescribeImageFromFamily, DescribeImageSupportInstanceTypes
//! and DescribeInstanceTypes through the real server with signed requests.

use serde_json::Value;
use stencil_domain::{Architecture, ImageStatus, OsType, Tag};
use stencil_meta::conformance::sample_image;
use stencil_testkit::raw::RawCall;
use stencil_testkit::{ACCOUNTS, TestServer};

const HZ: &str = "cn-hangzhou";

fn images(body: &Value) -> Vec<Value> {
    body["Images"]["Image"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ids(body: &Value) -> Vec<String> {
    images(body)
        .iter()
        .map(|i| i["ImageId"].as_str().unwrap().to_string())
        .collect()
}

async fn describe(s: &TestServer, params: &[(&str, &str)]) -> Value {
    let mut p = vec![("RegionId", HZ)];
    p.extend_from_slice(params);
    s.client()
        .call("DescribeImages", &p)
        .await
        .expect("DescribeImages")
}

#[tokio::test]
async fn describe_regions_lists_the_configured_regions() {
    let s = TestServer::start().await;
    let body = s.client().call("DescribeRegions", &[]).await.unwrap();
    let regions = body["Regions"]["Region"].as_array().unwrap();
    let names: Vec<&str> = regions
        .iter()
        .map(|r| r["RegionId"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cn-hangzhou", "cn-shanghai", "cn-beijing"]);
    assert_eq!(regions[0]["LocalName"], "China (Hangzhou)");
    assert_eq!(
        regions[0]["RegionEndpoint"],
        s.endpoint().as_str(),
        "the address the client reached"
    );
    assert!(body["RequestId"].as_str().unwrap().len() == 36);
}

#[tokio::test]
async fn a_single_region_deployment_publishes_the_catalog_where_it_can() {
    let s = TestServer::start_with(|c| {
        c.regions.truncate(1);
        c.buckets.truncate(1);
    })
    .await;
    let body = describe(&s, &[("ImageOwnerAlias", "system"), ("PageSize", "1")]).await;
    assert!(body["TotalCount"].as_u64().unwrap() > 40);
    let err = s
        .client()
        .call("DescribeImages", &[("RegionId", "cn-beijing")])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidRegionId.NotFound"));
}

#[tokio::test]
async fn public_catalog_is_listed_with_sdk_types_and_paging() {
    let s = TestServer::start().await;
    let body = describe(&s, &[("ImageOwnerAlias", "system"), ("PageSize", "100")]).await;
    let total = body["TotalCount"].as_u64().unwrap();
    assert!(
        total >= 40,
        "public catalog has {total} available images in hangzhou"
    );
    let list = images(&body);
    assert_eq!(list.len() as u64, total.min(100));
    let first = &list[0];
    assert!(first["Size"].is_u64(), "Size is an integer");
    assert!(first["Progress"].as_str().unwrap().ends_with('%'));
    assert!(first["IsSelfShared"].is_string());
    assert!(first["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Size"].is_string());
    assert_eq!(first["ImageOwnerAlias"], "system");
    assert!(
        list.iter().all(|i| i["Status"] == "Available"),
        "default status filter"
    );
    let page2 = describe(
        &s,
        &[
            ("ImageOwnerAlias", "system"),
            ("PageSize", "7"),
            ("PageNumber", "2"),
        ],
    )
    .await;
    assert_eq!(page2["PageNumber"], 2);
    assert_eq!(page2["PageSize"], 7);
    assert_eq!(
        ids(&page2),
        ids(&body)[7..14].to_vec(),
        "page 2 continues page 1's order"
    );
    let beyond = describe(&s, &[("ImageOwnerAlias", "system"), ("PageNumber", "999")]).await;
    assert!(images(&beyond).is_empty());
    assert_eq!(beyond["TotalCount"], total);
}

#[tokio::test]
async fn filters_narrow_the_public_catalog() {
    let s = TestServer::start().await;
    let all = describe(
        &s,
        &[
            ("ImageOwnerAlias", "system"),
            ("PageSize", "100"),
            ("Status", "ALL"),
        ],
    )
    .await;
    let count = |f: &dyn Fn(&Value) -> bool| images(&all).iter().filter(|i| f(i)).count() as u64;
    let win = describe(
        &s,
        &[
            ("ImageOwnerAlias", "system"),
            ("OSType", "windows"),
            ("PageSize", "100"),
            ("Status", "ALL"),
        ],
    )
    .await;
    assert_eq!(
        win["TotalCount"].as_u64().unwrap(),
        count(&|i| i["OSType"] == "windows")
    );
    assert!(win["TotalCount"].as_u64().unwrap() > 0);
    let arm = describe(
        &s,
        &[("ImageOwnerAlias", "system"), ("Architecture", "arm64")],
    )
    .await;
    assert!(images(&arm).iter().all(|i| i["Architecture"] == "arm64") && !images(&arm).is_empty());
    let ubuntu = describe(&s, &[("ImageName", "UBUNTU_22"), ("PageSize", "100")]).await;
    assert!(!images(&ubuntu).is_empty());
    assert!(images(&ubuntu).iter().all(|i| {
        i["ImageName"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("ubuntu_22")
    }));
    let deprecated = describe(
        &s,
        &[("ImageOwnerAlias", "system"), ("Status", "Deprecated")],
    )
    .await;
    assert!(deprecated["TotalCount"].as_u64().unwrap() >= 1);
    let fam = describe(&s, &[("ImageFamily", "acs:centos_7_9_x64")]).await;
    assert!(
        images(&fam)
            .iter()
            .all(|i| i["ImageFamily"] == "acs:centos_7_9_x64")
            && !images(&fam).is_empty()
    );
    let one = ids(&fam)[0].clone();
    let by_id = describe(&s, &[("ImageId", &format!("{one},no_such_image.vhd"))]).await;
    assert_eq!(ids(&by_id), vec![one]);
    let none = describe(&s, &[("ImageId", "m-doesnotexist000000000")]).await;
    assert_eq!(
        none["TotalCount"], 0,
        "unknown ImageId is an empty list, not an error"
    );
}

#[tokio::test]
async fn instance_type_filter_applies_the_32_bit_and_architecture_rules() {
    let s = TestServer::start().await;
    let big = describe(
        &s,
        &[("InstanceType", "ecs.g7.xlarge"), ("PageSize", "100")],
    )
    .await;
    assert!(!images(&big).is_empty());
    assert!(
        images(&big).iter().all(|i| i["Architecture"] == "x86_64"),
        "no i386 or arm64 on a 16 GiB x86 type"
    );
    let small = describe(&s, &[("InstanceType", "ecs.n4.small"), ("PageSize", "100")]).await;
    assert!(
        images(&small).iter().any(|i| i["Architecture"] == "i386"),
        "32-bit images run on a 2 GiB type"
    );
    let arm = describe(
        &s,
        &[("InstanceType", "ecs.g8y.large"), ("PageSize", "100")],
    )
    .await;
    assert!(!images(&arm).is_empty() && images(&arm).iter().all(|i| i["Architecture"] == "arm64"));
    let err = s
        .client()
        .call(
            "DescribeImages",
            &[("RegionId", HZ), ("InstanceType", "ecs.nope")],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidInstanceType.ValueNotSupported"));
}

#[tokio::test]
async fn accounts_see_their_own_custom_images_and_not_others() {
    let s = TestServer::start().await;
    let (me, other) = (ACCOUNTS[0].0, ACCOUNTS[1].0);
    let mut mine = sample_image(HZ, me, "mine-a", 0);
    mine.tags = vec![Tag {
        key: "env".into(),
        value: "prod".into(),
    }];
    let mine_b = sample_image(HZ, me, "mine-b", 1);
    let theirs = sample_image(HZ, other, "theirs", 2);
    for i in [&mine, &mine_b, &theirs] {
        s.meta().insert_image(i).await.unwrap();
    }
    let own = describe(&s, &[("ImageOwnerAlias", "self")]).await;
    assert_eq!(
        ids(&own),
        vec![mine_b.id.to_string(), mine.id.to_string()],
        "newest first"
    );
    assert_eq!(images(&own)[0]["ImageOwnerAlias"], "self");
    assert_eq!(
        images(&own)[0]["ImageOwnerId"].as_u64().unwrap(),
        me.parse::<u64>().unwrap()
    );
    let tagged = describe(
        &s,
        &[
            ("ImageOwnerAlias", "self"),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
        ],
    )
    .await;
    assert_eq!(ids(&tagged), vec![mine.id.to_string()]);
    assert_eq!(images(&tagged)[0]["Tags"]["Tag"][0]["TagValue"], "prod");
    let all = describe(&s, &[("PageSize", "100")]).await;
    assert!(
        !ids(&all).contains(&theirs.id.to_string()),
        "another account's private image is hidden"
    );
    assert!(ids(&all).contains(&mine.id.to_string()));
    let snap = mine.disks[0].snapshot_id.clone().unwrap();
    let by_snap = describe(&s, &[("SnapshotId", snap.as_str())]).await;
    assert_eq!(ids(&by_snap), vec![mine.id.to_string()]);
    let other_view = s
        .client_for(1)
        .call(
            "DescribeImages",
            &[("RegionId", HZ), ("ImageOwnerAlias", "self")],
        )
        .await
        .unwrap();
    assert_eq!(ids(&other_view), vec![theirs.id.to_string()]);
    let window = describe(
        &s,
        &[
            ("ImageOwnerAlias", "self"),
            ("Filter.1.Key", "CreationStartTime"),
            ("Filter.1.Value", "2026-01-01T00:01Z"),
            ("Filter.2.Key", "CreationEndTime"),
            ("Filter.2.Value", "2026-01-01T00:01Z"),
        ],
    )
    .await;
    assert_eq!(
        ids(&window),
        vec![mine_b.id.to_string()],
        "creation time window"
    );
}

#[tokio::test]
async fn family_returns_the_newest_available_and_rolls_back_when_it_is_deprecated() {
    let s = TestServer::start().await;
    let me = ACCOUNTS[0].0;
    let mut old = sample_image(HZ, me, "web-v1", 0);
    old.family = "web".into();
    let mut new = sample_image(HZ, me, "web-v2", 5);
    new.family = "web".into();
    let mut creating = sample_image(HZ, me, "web-v3", 9);
    creating.family = "web".into();
    creating.status = ImageStatus::Creating;
    for i in [&old, &new, &creating] {
        s.meta().insert_image(i).await.unwrap();
    }
    let client = s.client();
    let call = |fam: &'static str| {
        let client = client.clone();
        async move {
            client
                .call(
                    "DescribeImageFromFamily",
                    &[("RegionId", HZ), ("ImageFamily", fam)],
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(call("web").await["Image"]["ImageId"], new.id.as_str());
    new.status = ImageStatus::Deprecated;
    s.meta().update_image(&new).await.unwrap();
    assert_eq!(
        call("web").await["Image"]["ImageId"],
        old.id.as_str(),
        "deprecating the newest rolls back"
    );
    assert_eq!(call("nothing-here").await["Image"], serde_json::json!({}));
    let public = call("acs:centos_7_9_x64").await;
    assert_eq!(public["Image"]["ImageOwnerAlias"], "system");
    let other = s
        .client_for(1)
        .call(
            "DescribeImageFromFamily",
            &[("RegionId", HZ), ("ImageFamily", "web")],
        )
        .await
        .unwrap();
    assert_eq!(
        other["Image"],
        serde_json::json!({}),
        "another account's family is private"
    );
}

#[tokio::test]
async fn supported_instance_types_follow_the_compatibility_rules() {
    let s = TestServer::start().await;
    let centos32 = describe(
        &s,
        &[
            ("ImageOwnerAlias", "system"),
            ("Architecture", "i386"),
            ("OSType", "linux"),
        ],
    )
    .await;
    let id = ids(&centos32)[0].clone();
    let body = s
        .client()
        .call(
            "DescribeImageSupportInstanceTypes",
            &[("RegionId", HZ), ("ImageId", &id)],
        )
        .await
        .unwrap();
    let types = body["InstanceTypes"]["InstanceType"].as_array().unwrap();
    assert!(!types.is_empty());
    assert!(
        types
            .iter()
            .all(|t| t["MemorySize"].as_f64().unwrap() < 4.0),
        "32-bit only under 4 GiB"
    );
    let mut custom = sample_image(HZ, ACCOUNTS[0].0, "armimg", 0);
    custom.architecture = Architecture::Arm64;
    custom.boot_mode = stencil_domain::BootMode::Uefi;
    custom.features.nvme_support = Some(stencil_domain::Support::Supported);
    s.meta().insert_image(&custom).await.unwrap();
    let body = s
        .client()
        .call(
            "DescribeImageSupportInstanceTypes",
            &[("RegionId", HZ), ("ImageId", custom.id.as_str())],
        )
        .await
        .unwrap();
    let types = body["InstanceTypes"]["InstanceType"].as_array().unwrap();
    assert!(!types.is_empty());
    let catalog = stencil_domain::catalog::InstanceTypeCatalog::builtin();
    for t in types {
        let ty = catalog.get(t["InstanceTypeId"].as_str().unwrap()).unwrap();
        assert_eq!(
            ty.architecture,
            Architecture::Arm64,
            "{} runs an arm64 UEFI image",
            ty.id
        );
    }
    let err = s
        .client()
        .call(
            "DescribeImageSupportInstanceTypes",
            &[("RegionId", HZ), ("ImageId", "m-nothere0000000000000")],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidImageId.NotFound"));
}

#[tokio::test]
async fn describe_instance_types_filters_and_pages() {
    let s = TestServer::start().await;
    let all = s.client().call("DescribeInstanceTypes", &[]).await.unwrap();
    let n = all["InstanceTypes"]["InstanceType"]
        .as_array()
        .unwrap()
        .len();
    assert!(n >= 25);
    let arm = s
        .client()
        .call("DescribeInstanceTypes", &[("CpuArchitecture", "ARM")])
        .await
        .unwrap();
    assert!(
        arm["InstanceTypes"]["InstanceType"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["CpuArchitecture"] == "ARM")
    );
    let page = s
        .client()
        .call("DescribeInstanceTypes", &[("MaxResults", "10")])
        .await
        .unwrap();
    assert_eq!(
        page["InstanceTypes"]["InstanceType"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let token = page["NextToken"].as_str().unwrap().to_string();
    let next = s
        .client()
        .call(
            "DescribeInstanceTypes",
            &[("MaxResults", "10"), ("NextToken", &token)],
        )
        .await
        .unwrap();
    assert_ne!(
        next["InstanceTypes"]["InstanceType"][0],
        page["InstanceTypes"]["InstanceType"][0]
    );
    let one = s
        .client()
        .call(
            "DescribeInstanceTypes",
            &[("InstanceTypes.1", "ecs.g7.large")],
        )
        .await
        .unwrap();
    assert_eq!(
        one["InstanceTypes"]["InstanceType"][0]["MemorySize"].as_f64(),
        Some(8.0)
    );
}

#[tokio::test]
async fn xml_format_and_v1_signatures_work_too() {
    let s = TestServer::start().await;
    let mut call = RawCall::new(
        &s.endpoint(),
        "DescribeImages",
        &[("RegionId", HZ), ("Format", "XML"), ("PageSize", "2")],
    );
    let a = call.send_v1().await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.content_type.starts_with("text/xml"), "{}", a.content_type);
    assert!(
        a.text.contains("<DescribeImagesResponse>") && a.text.contains("<Images><Image>"),
        "{}",
        a.text
    );
    call.nonce.push('2');
    call.params = vec![("RegionId".into(), HZ.into())];
    call.body = b"ImageOwnerAlias=system&PageSize=3".to_vec();
    call.content_type = Some("application/x-www-form-urlencoded".into());
    let a = call.send_v1().await;
    assert_eq!(
        a.status, 200,
        "form body parameters are read and signed: {}",
        a.text
    );
    assert_eq!(a.body["PageSize"], 3);
    let v1 = s.client().with_signature(stencil_ecs::SignatureVersion::V1);
    let body = v1
        .call("DescribeImages", &[("RegionId", HZ), ("OSType", "linux")])
        .await
        .unwrap();
    assert!(
        images(&body)
            .iter()
            .all(|i| i["OSType"] == OsType::Linux.as_str())
    );
}

#[tokio::test]
async fn dry_run_validates_and_answers_dry_run_operation() {
    let s = TestServer::start().await;
    let err = s
        .client()
        .call("DescribeImages", &[("RegionId", HZ), ("DryRun", "true")])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DryRunOperation"));
    let err = s
        .client()
        .call(
            "DescribeImages",
            &[("RegionId", "nowhere"), ("DryRun", "true")],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("InvalidRegionId.NotFound"),
        "validation runs before the dry-run answer"
    );
}
