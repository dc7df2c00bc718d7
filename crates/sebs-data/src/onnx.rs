//! A ResNet-50 ONNX model with seeded random weights, written as protobuf by hand.
//!
//! Pretrained weights cannot be downloaded here, so 411.image-recognition runs the real
//! architecture (torchvision's ResNet-50 v1.5: the same layers, shapes and FLOPs) with weights
//! drawn from the data generator's PRNG (He-uniform convolutions, identity batch norms with a
//! damped last norm per residual branch so activations stay finite). The file is byte-identical
//! for a seed. Only the few ONNX messages the graph needs are encoded (field numbers from
//! `onnx.proto`, IR version 8, opset 17).

use super::Rng;

/// Protobuf wire encoding of the messages we write.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }
    fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }
    fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }
    fn str(&mut self, field: u32, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }
    fn msg(&mut self, field: u32, m: &Msg) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

// ONNX enums.
const FLOAT: i64 = 1;
const ATTR_FLOAT: i64 = 1;
const ATTR_INT: i64 = 2;
const ATTR_INTS: i64 = 7;

enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
}

/// Builds the graph: nodes and initializers.
struct Graph<'r> {
    rng: &'r mut Rng,
    nodes: Vec<Msg>,
    initializers: Vec<Msg>,
    counter: usize,
}

impl Graph<'_> {
    fn name(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    fn node(&mut self, op: &str, inputs: &[&str], attrs: &[(&str, Attr)]) -> String {
        let output = self.name(&op.to_ascii_lowercase());
        self.node_to(op, inputs, attrs, output)
    }

    fn node_to(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: &[(&str, Attr)],
        output: String,
    ) -> String {
        let mut node = Msg::default();
        for input in inputs {
            node.str(1, input);
        }
        node.str(2, &output).str(3, &output).str(4, op);
        for (name, value) in attrs {
            let mut a = Msg::default();
            a.str(1, name);
            match value {
                Attr::Int(v) => {
                    a.int(3, *v).int(20, ATTR_INT);
                }
                Attr::Ints(vs) => {
                    for v in vs {
                        a.int(8, *v);
                    }
                    a.int(20, ATTR_INTS);
                }
                Attr::Float(v) => {
                    a.float(2, *v).int(20, ATTR_FLOAT);
                }
            }
            node.msg(5, &a);
        }
        self.nodes.push(node);
        output
    }

    fn tensor(&mut self, prefix: &str, dims: &[i64], values: impl Iterator<Item = f32>) -> String {
        let name = self.name(prefix);
        let mut t = Msg::default();
        for d in dims {
            t.int(1, *d);
        }
        t.int(2, FLOAT).str(8, &name);
        let count: i64 = dims.iter().product();
        let mut raw = Vec::with_capacity(count as usize * 4);
        for v in values.take(count as usize) {
            raw.extend_from_slice(&v.to_le_bytes());
        }
        t.bytes(9, &raw);
        self.initializers.push(t);
        name
    }

    /// He-uniform weights: U(-a, a) with a = sqrt(6 / fan_in).
    fn weights(&mut self, prefix: &str, dims: &[i64], fan_in: i64) -> String {
        let bound = (6.0 / fan_in as f64).sqrt() as f32;
        let count: i64 = dims.iter().product();
        let values: Vec<f32> = (0..count)
            .map(|_| (self.rng.unit() * 2.0 - 1.0) * bound)
            .collect();
        self.tensor(prefix, dims, values.into_iter())
    }

    fn conv(&mut self, x: &str, cin: i64, cout: i64, k: i64, stride: i64) -> String {
        let w = self.weights("conv_w", &[cout, cin, k, k], cin * k * k);
        let pad = k / 2;
        self.node(
            "Conv",
            &[x, &w],
            &[
                ("kernel_shape", Attr::Ints(vec![k, k])),
                ("strides", Attr::Ints(vec![stride, stride])),
                ("pads", Attr::Ints(vec![pad, pad, pad, pad])),
            ],
        )
    }

    fn batch_norm(&mut self, x: &str, c: i64, gamma: f32) -> String {
        let scale = self.tensor("bn_scale", &[c], std::iter::repeat(gamma));
        let bias = self.tensor("bn_bias", &[c], std::iter::repeat(0.0));
        let mean = self.tensor("bn_mean", &[c], std::iter::repeat(0.0));
        let var = self.tensor("bn_var", &[c], std::iter::repeat(1.0));
        self.node(
            "BatchNormalization",
            &[x, &scale, &bias, &mean, &var],
            &[("epsilon", Attr::Float(1e-5))],
        )
    }

    fn relu(&mut self, x: &str) -> String {
        self.node("Relu", &[x], &[])
    }

    /// torchvision's Bottleneck (v1.5: the stride is on the 3x3 convolution).
    fn bottleneck(&mut self, x: &str, cin: i64, width: i64, stride: i64) -> String {
        let cout = width * 4;
        let mut y = self.conv(x, cin, width, 1, 1);
        y = self.batch_norm(&y, width, 1.0);
        y = self.relu(&y);
        y = self.conv(&y, width, width, 3, stride);
        y = self.batch_norm(&y, width, 1.0);
        y = self.relu(&y);
        y = self.conv(&y, width, cout, 1, 1);
        y = self.batch_norm(&y, cout, 0.2);
        let shortcut = if stride != 1 || cin != cout {
            let s = self.conv(x, cin, cout, 1, stride);
            self.batch_norm(&s, cout, 1.0)
        } else {
            x.to_owned()
        };
        let sum = self.node("Add", &[&y, &shortcut], &[]);
        self.relu(&sum)
    }
}

fn value_info(name: &str, dims: &[i64]) -> Msg {
    let mut shape = Msg::default();
    for d in dims {
        let mut dim = Msg::default();
        dim.int(1, *d);
        shape.msg(1, &dim);
    }
    let mut tensor = Msg::default();
    tensor.int(1, FLOAT).msg(2, &shape);
    let mut ty = Msg::default();
    ty.msg(1, &tensor);
    let mut info = Msg::default();
    info.str(1, name).msg(2, &ty);
    info
}

/// Input and output names of the model.
pub const INPUT: &str = "data";
/// The output: logits of the 1000 ImageNet classes, shape [1, 1000].
pub const OUTPUT: &str = "logits";

/// The serialized ResNet-50 model (about 102 MB) for `seed`.
pub fn resnet50(seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed, "resnet50.onnx");
    let mut g = Graph {
        rng: &mut rng,
        nodes: Vec::new(),
        initializers: Vec::new(),
        counter: 0,
    };
    let mut x = g.conv(INPUT, 3, 64, 7, 2);
    x = g.batch_norm(&x, 64, 1.0);
    x = g.relu(&x);
    x = g.node(
        "MaxPool",
        &[&x],
        &[
            ("kernel_shape", Attr::Ints(vec![3, 3])),
            ("strides", Attr::Ints(vec![2, 2])),
            ("pads", Attr::Ints(vec![1, 1, 1, 1])),
        ],
    );
    let mut cin = 64;
    for (blocks, width, stride) in [(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)] {
        for b in 0..blocks {
            x = g.bottleneck(&x, cin, width, if b == 0 { stride } else { 1 });
            cin = width * 4;
        }
    }
    x = g.node("GlobalAveragePool", &[&x], &[]);
    x = g.node("Flatten", &[&x], &[("axis", Attr::Int(1))]);
    let w = g.weights("fc_w", &[1000, 2048], 2048);
    let b = g.tensor("fc_b", &[1000], std::iter::repeat(0.0));
    g.node_to(
        "Gemm",
        &[&x, &w, &b],
        &[("transB", Attr::Int(1))],
        OUTPUT.to_owned(),
    );

    let mut graph = Msg::default();
    for n in &g.nodes {
        graph.msg(1, n);
    }
    graph.str(2, "resnet50-sebs-random");
    for t in &g.initializers {
        graph.msg(5, t);
    }
    graph.msg(11, &value_info(INPUT, &[1, 3, 224, 224]));
    graph.msg(12, &value_info(OUTPUT, &[1, 1000]));

    let mut opset = Msg::default();
    opset.str(1, "").int(2, 17);
    let mut model = Msg::default();
    model
        .int(1, 8)
        .str(2, "sebs data generate")
        .str(3, env!("CARGO_PKG_VERSION"))
        .int(5, 1)
        .str(
            6,
            &format!("ResNet-50 v1.5 with random weights (seed {seed}); not a trained model"),
        )
        .msg(7, &graph)
        .msg(8, &opset);
    model.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_encode_like_protobuf() {
        let mut m = Msg::default();
        m.varint(300);
        assert_eq!(m.0, [0xac, 0x02]);
        let mut m = Msg::default();
        m.int(1, 8);
        assert_eq!(m.0, [0x08, 0x08]);
    }

    #[test]
    fn resnet50_has_the_real_parameter_count() {
        let model = resnet50(1);
        // 25,557,032 trainable parameters plus 2 x 26,560 batch-norm statistics, as f32.
        let floats = 25_557_032 + 53_120;
        assert!(
            model.len() > floats * 4 && model.len() < floats * 4 + 200_000,
            "{} bytes",
            model.len()
        );
        assert_eq!(model, resnet50(1));
    }
}
