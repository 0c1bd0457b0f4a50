import json
import os.path as osp

import pytest

from mmplug.datasets.converters.bdd import BDDFormatError, convert_bdd_labels

from ..conftest import REPO

SAMPLE = osp.join(osp.dirname(REPO), 'shared', 'data', 'bdd100k-sample')
needs_sample = pytest.mark.skipif(
    not osp.isdir(SAMPLE), reason=f'BDD100K sample not found at {SAMPLE}')


def _index(coco):
    videos = {v['id']: v['name'] for v in coco['videos']}
    images = {i['id']: (videos[i['video_id']], i['frame_id'], i['file_name'])
              for i in coco['images']}
    anns = sorted((images[a['image_id']], a['category_id'], a['instance_id'],
                   tuple(round(x, 4) for x in a['bbox']), a['iscrowd'])
                  for a in coco['annotations'])
    return sorted(videos.values()), sorted(images.values()), anns


@needs_sample
def test_matches_the_reference_conversion(tmp_path):
    out = str(tmp_path / 'bdd.json')
    counts = convert_bdd_labels(osp.join(SAMPLE, 'labels'), out)
    assert counts == dict(videos=2, images=12, annotations=120)
    ours = json.load(open(out))
    ref = json.load(open(osp.join(SAMPLE, 'annotations',
                                  'box_track_debug_cocofmt.json')))
    assert ours['categories'] == ref['categories']
    assert _index(ours) == _index(ref)


@needs_sample
def test_output_loads_in_mmdet_with_real_images(tmp_path):
    from mmdet.registry import DATASETS
    out = str(tmp_path / 'bdd.json')
    convert_bdd_labels(osp.join(SAMPLE, 'labels'), out)
    dataset = DATASETS.build(dict(
        type='MOTChallengeDataset', ann_file=out,
        data_prefix=dict(img_path=osp.join(SAMPLE, 'images')),
        metainfo=dict(classes=('pedestrian', 'car')), test_mode=True,
        pipeline=[dict(type='TransformBroadcaster', transforms=[
            dict(type='LoadImageFromFile'), dict(type='LoadTrackAnnotations')
        ])]))
    item = dataset[(1, 0)]
    assert item['img'][0].shape == (720, 1280, 3)
    assert len(item['gt_bboxes'][0]) > 0


def test_ignored_and_crowd_labels(tmp_path):
    labels = tmp_path / 'labels'
    labels.mkdir()
    box = dict(x1=0, y1=0, x2=9, y2=19)
    frames = [dict(name='v-0000001.jpg', videoName='v', frameIndex=0,
                   labels=[
                       dict(id='a', category='other person', box2d=box),
                       dict(id='b', category='car', box2d=box,
                            attributes=dict(crowd=True)),
                       dict(id='c', category='traffic light', box2d=box),
                       dict(id='d', category='bus', box2d=None)])]
    (labels / 'v.json').write_text(json.dumps(dict(frames=frames)))
    out = tmp_path / 'o.json'
    convert_bdd_labels(str(labels), str(out))
    anns = json.loads(out.read_text())['annotations']
    assert [(a['category_id'], a['iscrowd'], a['ignore']) for a in anns] == \
        [(1, 1, 1), (3, 1, 0)]
    assert anns[0]['bbox'] == [0.0, 0.0, 10.0, 20.0]


def test_bad_input_names_the_file(tmp_path):
    labels = tmp_path / 'labels'
    labels.mkdir()
    (labels / 'broken.json').write_text('{"frames": [')
    with pytest.raises(BDDFormatError, match='broken.json'):
        convert_bdd_labels(str(labels), str(tmp_path / 'o.json'))
    assert not (tmp_path / 'o.json').exists()
    with pytest.raises(FileNotFoundError, match='nowhere'):
        convert_bdd_labels(str(tmp_path / 'nowhere'), str(tmp_path / 'o'))
