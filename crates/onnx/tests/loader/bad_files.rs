//! One test per class of bad file: each must fail with the right kind and a message that says
//! where the problem is and what it is.

use std::path::Path;

use litecnn_onnx::builder::{attr_int, graph, model, named, node, tensor_f32};
use litecnn_onnx::proto::StringStringEntryProto;
use litecnn_onnx::proto::tensor_proto::{DataLocation, DataType};
use litecnn_onnx::{ErrorKind, LoadError, load_bytes, load_file, read_tensor_pb};
use prost::Message;

use crate::fixtures::{bytes, conv_relu, f32_output, image_input, single};

fn load_err(m: &litecnn_onnx::proto::ModelProto) -> LoadError {
    load_bytes(&bytes(m)).expect_err("the model must be rejected")
}

#[test]
fn truncated_file() {
    let b = bytes(&conv_relu());
    let e = load_bytes(&b[..b.len() / 2]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert!(
        e.to_string()
            .starts_with("file is not an ONNX model: protobuf decode failed: "),
        "{e}"
    );
}

#[test]
fn not_a_model_at_all() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa";
    let text = b"hello, this is a text file and not an ONNX model\n";
    for (what, b) in [("png", &png[..]), ("text", &text[..]), ("empty", &[][..])] {
        let e = load_bytes(b).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{what}: {e}");
        assert!(
            e.to_string().starts_with("file is not an ONNX model"),
            "{what}: {e}"
        );
    }
}

#[test]
fn unsupported_op_names_node_op_and_domain() {
    let n = named("x", node("NonMaxSuppression", &["x"], &["y"], vec![]));
    let e = load_err(&single(13, n, vec![]));
    assert_eq!(e.kind(), ErrorKind::UnsupportedOp);
    assert_eq!(
        e.to_string(),
        r#"node "x" (NonMaxSuppression): unsupported op NonMaxSuppression (domain "")"#
    );

    let mut n = node("FusedConv", &["x"], &["y"], vec![]);
    n.domain = Some("com.microsoft".into());
    let e = load_err(&single(13, n, vec![]));
    assert_eq!(
        e.to_string(),
        r#"node #0 (FusedConv): unsupported op FusedConv (domain "com.microsoft")"#
    );
}

#[test]
fn unsupported_attribute_names_it() {
    let mut m = conv_relu();
    let conv = &mut m.graph.as_mut().unwrap().node[0];
    conv.name = Some("Conv_3".into());
    conv.attribute.push(attr_int("foo", 1));
    let e = load_err(&m);
    assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
    assert_eq!(
        e.to_string(),
        r#"node "Conv_3" (Conv): unsupported attribute "foo""#
    );
}

#[test]
fn missing_initializer_is_named() {
    let n = named("Add_1", node("Add", &["x", "bias"], &["y"], vec![]));
    let e = load_err(&single(13, n, vec![]));
    assert_eq!(e.kind(), ErrorKind::MissingInput);
    assert_eq!(
        e.to_string(),
        r#"node "Add_1" (Add): input "bias" is not produced by any node, graph input or initializer"#
    );
}

#[test]
fn missing_graph_output_is_named() {
    let mut m = conv_relu();
    m.graph.as_mut().unwrap().output.push(f32_output("nowhere"));
    let e = load_err(&m);
    assert_eq!(e.kind(), ErrorKind::MissingInput);
    assert!(
        e.to_string().starts_with(r#"graph output "nowhere": "#),
        "{e}"
    );
}

#[test]
fn external_data_is_explained() {
    let mut m = conv_relu();
    let w = &mut m.graph.as_mut().unwrap().initializer[0];
    w.float_data.clear();
    w.data_location = Some(DataLocation::External as i32);
    w.external_data = vec![StringStringEntryProto {
        key: Some("location".into()),
        value: Some("weights.bin".into()),
    }];
    let e = load_err(&m);
    assert_eq!(e.kind(), ErrorKind::ExternalData);
    assert_eq!(
        e.to_string(),
        "initializer \"w\": external data is not supported (data_location=EXTERNAL); \
         re-export the model with all tensors embedded"
    );
}

#[test]
fn absurd_tensor_size_is_refused_before_allocating() {
    let mut m = conv_relu();
    let w = &mut m.graph.as_mut().unwrap().initializer[0];
    w.dims = vec![1_000_000, 1_000_000]; // 10^12 elements
    let e = load_err(&m);
    assert_eq!(e.kind(), ErrorKind::TooLarge);
    assert!(e.to_string().starts_with("initializer \"w\": "), "{e}");

    // Under the element cap but far beyond the bytes present: 4 GiB claimed, 16 bytes given.
    let mut t = tensor_f32("big", &[1 << 20, 1 << 10], &[]);
    t.raw_data = Some(vec![0; 16]);
    let e = read_tensor_pb(&t.encode_to_vec()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert!(e.to_string().starts_with("tensor \"big\": "), "{e}");
}

#[test]
fn cycle_is_reported_with_a_node_on_it() {
    let nodes = vec![
        named("a", node("Add", &["x", "b_out"], &["a_out"], vec![])),
        named("b", node("Relu", &["a_out"], &["b_out"], vec![])),
    ];
    let m = model(
        13,
        graph(
            nodes,
            vec![image_input()],
            vec![f32_output("b_out")],
            vec![],
        ),
    );
    let e = load_err(&m);
    assert_eq!(e.kind(), ErrorKind::Cycle);
    let msg = e.to_string();
    assert!(
        msg == r#"graph has a cycle involving node "a""#
            || msg == r#"graph has a cycle involving node "b""#,
        "{msg}"
    );
}

#[test]
fn unsupported_dtype_names_tensor_and_type() {
    let mut m = conv_relu();
    m.graph.as_mut().unwrap().initializer[1].data_type = Some(DataType::Double as i32);
    let e = load_err(&m);
    assert_eq!(e.kind(), ErrorKind::UnsupportedDType);
    assert_eq!(
        e.to_string(),
        "initializer \"b\": unsupported data type DOUBLE (only FLOAT and INT64 are supported)"
    );
}

#[test]
fn unsupported_opset() {
    let mut m = conv_relu();
    for v in [0, 28] {
        m.opset_import[0].version = Some(v);
        let e = load_err(&m);
        assert_eq!(e.kind(), ErrorKind::UnsupportedOpset);
        assert!(e.to_string().contains(&format!("opset {v} ")), "{e}");
    }
}

#[test]
fn training_only_outputs_are_refused() {
    let n = named(
        "bn",
        node(
            "BatchNormalization",
            &["x", "s", "b", "m", "v"],
            &["y", "mean"],
            vec![],
        ),
    );
    let inits = ["s", "b", "m", "v"]
        .map(|n| tensor_f32(n, &[3], &[1.0; 3]))
        .to_vec();
    let e = load_err(&single(9, n, inits));
    assert_eq!(e.kind(), ErrorKind::UnsupportedFeature);
    assert!(
        e.to_string()
            .starts_with(r#"node "bn" (BatchNormalization): output 1 ("mean""#),
        "{e}"
    );
}

#[test]
fn unreadable_file_is_an_io_error() {
    let e = load_file(Path::new("/nonexistent/model.onnx")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.to_string().contains("/nonexistent/model.onnx"), "{e}");
}
