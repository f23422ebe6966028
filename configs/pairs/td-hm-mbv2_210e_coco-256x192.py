# The pose student of table 7 on its own (used by the pair file and the plain student recipe, so that every pose
# recipe trains with the same data and schedule): MMPose's top-down heatmap MobileNetV2, COCO body 256x192, 210
# epochs, unchanged but for the dataset root, $DFD_DATA_ROOT/coco/ (default data/coco/, MMPose's own; the person
# detections for the val set are read from <root>/person_detection_results/).
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_mobilenetv2_8xb64-210e_coco-256x192.py'
data_root = '{{$DFD_DATA_ROOT:data}}/coco/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(
    dataset=dict(data_root=data_root,
                 bbox_file=data_root + 'person_detection_results/COCO_val2017_detections_AP_H_56_person.json'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
