use super::*;
use crate::error::ErrorCode;
use proptest::prelude::*;

fn params(query: &str) -> Params {
    Params::from_query(query).unwrap()
}

fn message(err: EcsError) -> String {
    err.message().to_owned()
}

#[test]
fn required_reports_missing_and_empty_values_by_name() {
    let p = params("RegionId=&ImageId=m-1");
    assert_eq!(p.required("ImageId").unwrap(), "m-1");
    let err = p.required("RegionId").unwrap_err();
    assert_eq!(err.code(), ErrorCode::MissingParameter);
    assert!(err.message().contains("\"RegionId\""));
    assert!(message(p.required("Nope").unwrap_err()).contains("\"Nope\""));
    assert_eq!(p.get("RegionId"), Some(""));
    assert_eq!(p.non_empty("RegionId"), None);
}

#[test]
fn booleans_parse_case_insensitively() {
    let p = params("A=True&B=false&C=TRUE&D=yes&E=");
    assert_eq!(p.bool("A").unwrap(), Some(true));
    assert_eq!(p.bool("B").unwrap(), Some(false));
    assert_eq!(p.bool("C").unwrap(), Some(true));
    assert_eq!(p.bool("E").unwrap(), None);
    assert!(!p.bool_or("Missing", false).unwrap());
    let err = p.bool("D").unwrap_err();
    assert_eq!(
        err.message(),
        "The specified parameter \"D\" is not valid: must be true or false, got \"yes\"."
    );
}

#[test]
fn integers_report_the_range_and_the_value_sent() {
    let p = params("PageSize=abc&PageNumber=0&Size=40&Neg=-3&Plus=%2B4");
    assert_eq!(
        message(p.int_in_range("PageSize", 1..=100).unwrap_err()),
        "The specified parameter \"PageSize\" is not valid: must be an integer from 1 to 100, got \"abc\"."
    );
    assert!(message(p.int_in_range("PageNumber", 1..=i64::MAX).unwrap_err()).contains("\"0\""));
    assert_eq!(p.int_in_range("Size", 1..=2048).unwrap(), Some(40));
    assert_eq!(p.int("Neg").unwrap(), Some(-3));
    assert!(p.int("Plus").is_err());
    assert_eq!(p.int("Missing").unwrap(), None);
    assert!(params("X=99999999999999999999").int("X").is_err());
}

#[test]
fn lists_are_ordered_by_index_with_gaps_allowed() {
    let p =
        params("AddAccount.10=c&AddAccount.2=b&AddAccount.1=a&AddAccountX.1=z&RemoveAccount.1=r");
    assert_eq!(p.list("AddAccount").unwrap(), ["a", "b", "c"]);
    assert_eq!(p.list("RemoveAccount").unwrap(), ["r"]);
    assert!(p.list("Nothing").unwrap().is_empty());
}

#[test]
fn bad_list_indexes_name_the_key() {
    for key in [
        "AddAccount.0",
        "AddAccount.x",
        "AddAccount.01",
        "AddAccount.",
        "AddAccount.-1",
        "AddAccount.1.x",
    ] {
        let err = params(&format!("{key}=v")).list("AddAccount").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidParameter, "{key}");
        assert!(
            err.message().contains(&format!("\"{key}\"")),
            "{key}: {}",
            err.message()
        );
    }
}

#[test]
fn objects_group_fields_by_index_and_name_full_keys_in_errors() {
    let p = params("Tag.2.Key=b&Tag.1.Key=a&Tag.1.Value=&Tag.2.Value=y");
    let tags = p.objects("Tag").unwrap();
    assert_eq!(tags.len(), 2);
    assert_eq!(
        (tags[0].get("Key"), tags[0].get("Value")),
        (Some("a"), Some(""))
    );
    assert_eq!(
        (tags[1].get("Key"), tags[1].get("Value")),
        (Some("b"), Some("y"))
    );
    assert_eq!(tags[1].prefix(), "Tag.2.");
    let err = tags[0].required("Value").unwrap_err();
    assert!(err.message().contains("\"Tag.1.Value\""));

    for key in ["Tag.1", "Tag.1.", "Tag.01.Key", "Tag.a.Key"] {
        let err = params(&format!("{key}=v")).objects("Tag").unwrap_err();
        assert!(
            err.message().contains(&format!("\"{key}\"")),
            "{key}: {}",
            err.message()
        );
    }
}

#[test]
fn lists_inside_objects_use_the_captured_list_tag_resources_shape() {
    let p = params(
        "RegionId=cn-hangzhou&ResourceId.1=m-1&ResourceType=image&TagFilter.1.TagKey=env&TagFilter.1.TagValues.1=prod%2A&TagFilter.1.TagValues.2=dev",
    );
    let filters = p.objects("TagFilter").unwrap();
    assert_eq!(filters[0].get("TagKey"), Some("env"));
    assert_eq!(filters[0].list("TagValues").unwrap(), ["prod*", "dev"]);
    let err = params("TagFilter.1.TagValues.0=x")
        .objects("TagFilter")
        .unwrap()[0]
        .list("TagValues")
        .unwrap_err();
    assert!(
        err.message().contains("\"TagFilter.1.TagValues.0\""),
        "{}",
        err.message()
    );
}

#[test]
fn nested_objects_read_features_and_deeper_paths() {
    let p = params(
        "Features.NvmeSupport=supported&ImageOptions.ImageFeatures.NvmeSupport=auto&ImageOptions.ImageTags.1.Key=k&ImageOptions.ImageTags.1.Value=v",
    );
    assert_eq!(p.object("Features").get("NvmeSupport"), Some("supported"));
    assert_eq!(p.get("Features.NvmeSupport"), Some("supported"));
    let options = p.object("ImageOptions");
    assert_eq!(
        options.object("ImageFeatures").get("NvmeSupport"),
        Some("auto")
    );
    let tags = options.objects("ImageTags").unwrap();
    assert_eq!(tags[0].full_name("Key"), "ImageOptions.ImageTags.1.Key");
    assert!(p.object("SystemDisk").is_empty());
}

#[test]
fn string_lists_accept_json_arrays_and_comma_lists() {
    let p = params(
        "SnapshotIds=%5B%22s-1%22%2C%22s-2%22%5D&TaskIds=t-1,+t-2,,&Nums=[1,2]&Bad=[1&Obj=[{}]&Empty=",
    );
    assert_eq!(
        p.string_list("SnapshotIds").unwrap().unwrap(),
        ["s-1", "s-2"]
    );
    assert_eq!(p.string_list("TaskIds").unwrap().unwrap(), ["t-1", "t-2"]);
    assert_eq!(p.string_list("Nums").unwrap().unwrap(), ["1", "2"]);
    assert!(message(p.string_list("Bad").unwrap_err()).contains("\"Bad\""));
    assert!(p.string_list("Obj").is_err());
    assert_eq!(p.string_list("Empty").unwrap(), None);
    assert_eq!(p.string_list("Missing").unwrap(), None);
}

#[test]
fn later_pairs_win_so_the_body_overrides_the_query() {
    let p = Params::from_pairs([("A", "query"), ("B", "only"), ("A", "body")]);
    assert_eq!(p.get("A"), Some("body"));
    assert_eq!(p.len(), 2);
}

#[test]
fn every_captured_g_query_parses() {
    let create = params(
        "ClientToken=tok-1&DiskDeviceMapping.1.Device=%2Fdev%2Fxvda&DiskDeviceMapping.1.DiskType=system&DiskDeviceMapping.1.Size=40&DiskDeviceMapping.1.SnapshotId=s-1&DiskDeviceMapping.2.Device=%2Fdev%2Fxvdb&DiskDeviceMapping.2.DiskType=data&DiskDeviceMapping.2.SnapshotId=s-2&Features.ImdsSupport=v2&ImageName=from-snap&RegionId=cn-hangzhou&Tag.1.Key=k&Tag.1.Value=v",
    );
    let disks = create.objects("DiskDeviceMapping").unwrap();
    assert_eq!(disks.len(), 2);
    assert_eq!(disks[0].get("Device"), Some("/dev/xvda"));
    assert_eq!(disks[0].int_in_range("Size", 1..=32768).unwrap(), Some(40));
    assert_eq!(disks[1].get("Size"), None);
    let pipeline = params(
        "AddAccount.1=123&AddAccount.2=456&BaseImage=m-base&BaseImageType=IMAGE&RepairItem.1=fstab&ToRegionId.1=cn-shanghai",
    );
    assert_eq!(pipeline.list("AddAccount").unwrap(), ["123", "456"]);
    assert_eq!(pipeline.list("ToRegionId").unwrap(), ["cn-shanghai"]);
    let untag = params(
        "All=False&RegionId=cn-hangzhou&ResourceId.1=m-1&ResourceType=image&TagKey.1=a&TagKey.2=b",
    );
    assert_eq!(untag.bool("All").unwrap(), Some(false));
    assert_eq!(untag.list("TagKey").unwrap(), ["a", "b"]);
}

fn key_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9]{0,8}"
}

proptest! {
    #[test]
    fn decode_form_inverts_form_urlencoding(pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..8)) {
        let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let decoded = decode_form(encoded.as_bytes()).unwrap();
        prop_assert_eq!(decoded, pairs);
    }

    #[test]
    fn decode_form_inverts_rfc3986_encoding(pairs in prop::collection::vec((key_strategy(), any::<String>()), 0..8)) {
        let encoded = crate::signature::encode_query(&pairs);
        prop_assert_eq!(decode_form(encoded.as_bytes()).unwrap(), pairs);
    }

    #[test]
    fn decode_form_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_form(&bytes);
    }

    #[test]
    fn lists_come_back_ordered_by_index(items in prop::collection::btree_map(1u32..10_000, "[ -~]{0,6}", 0..12)) {
        let p = Params::from_pairs(items.iter().rev().map(|(i, v)| (format!("AddAccount.{i}"), v.clone())));
        prop_assert_eq!(p.list("AddAccount").unwrap(), items.into_values().collect::<Vec<_>>());
    }

    #[test]
    fn non_canonical_indexes_are_rejected_naming_the_key(index in "[0-9a-z.-]{0,5}") {
        prop_assume!(parse_index(&index).is_none());
        prop_assume!(!index.contains('.'));
        let key = format!("AddAccount.{index}");
        let err = Params::from_pairs([(key.clone(), "v")]).list("AddAccount").unwrap_err();
        let quoted = format!("\"{}\"", key);
        prop_assert!(err.message().contains(&quoted), "{}", err.message());
    }

    #[test]
    fn objects_round_trip(tags in prop::collection::btree_map(1u32..100, (key_strategy(), "[ -~]{0,6}"), 0..8)) {
        let mut pairs = Vec::new();
        for (i, (k, v)) in &tags {
            pairs.push((format!("Tag.{i}.Key"), k.clone()));
            pairs.push((format!("Tag.{i}.Value"), v.clone()));
        }
        let objects = Params::from_pairs(pairs).objects("Tag").unwrap();
        let got: Vec<_> = objects.iter().map(|o| (o.get("Key").unwrap().to_owned(), o.get("Value").unwrap().to_owned())).collect();
        prop_assert_eq!(got, tags.into_values().collect::<Vec<_>>());
    }

    #[test]
    fn integers_in_range_round_trip(n in any::<i64>(), lo in -1000i64..1000, width in 0i64..1000) {
        let p = Params::from_pairs([("N", n.to_string())]);
        let range = lo..=lo + width;
        match p.int_in_range("N", range.clone()) {
            Ok(v) => prop_assert_eq!(v, Some(n)),
            Err(e) => {
                prop_assert!(!range.contains(&n));
                prop_assert!(e.message().contains("\"N\""));
            }
        }
        prop_assert_eq!(p.int("N").unwrap(), Some(n));
    }

    #[test]
    fn booleans_ignore_case(upper in prop::collection::vec(any::<bool>(), 5), value in any::<bool>()) {
        let word: String = value.to_string().chars().zip(upper.iter().cycle())
            .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c }).collect();
        prop_assert_eq!(Params::from_pairs([("B", word)]).bool("B").unwrap(), Some(value));
    }

    #[test]
    fn comma_lists_round_trip(items in prop::collection::vec("[a-z0-9-]{1,8}", 1..10)) {
        let p = Params::from_pairs([("Ids", items.join(","))]);
        prop_assert_eq!(p.string_list("Ids").unwrap().unwrap(), items.clone());
        let json = serde_json::to_string(&items).unwrap();
        prop_assert_eq!(Params::from_pairs([("Ids", json)]).string_list("Ids").unwrap().unwrap(), items);
    }
}
