'use strict';
// DescribeImageFromFamily, DescribeImageSupportInstanceTypes and error mapping through
// @alicloud/ecs20140526, signed with V3 (the default) and with V1 (signatureAlgorithm 'v2').

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Ecs, startServer, makeClient, catalog } = require('./helpers');

const HZ = 'cn-hangzhou';
const CENTOS_68_32 = 'centos_6_08_32_40G_alibase_20170710.vhd';
const cat = catalog();

let server;
before(async () => { server = await startServer(); });
after(async () => { assert.equal(await server.stop(), 0); });

const sorted = (xs) => [...xs].sort();

// Asserts that `promise` rejects with the SDK error `code` and one of `statuses`.
async function rejectsWith(promise, code, statuses) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code, e.message);
    if (statuses) assert.ok(statuses.includes(e.statusCode), `HTTP ${e.statusCode}`);
    assert.ok(e.data && e.data.RequestId, 'errors carry a RequestId');
    return true;
  });
}

for (const signature of ['v3', 'v1']) {
  describe(`Node SDK ${signature}`, () => {
    let client;
    before(() => { client = makeClient(server.endpoint, signature); });

    const fromFamily = (imageFamily, regionId = HZ) =>
      client.describeImageFromFamily(new Ecs.DescribeImageFromFamilyRequest({ regionId, imageFamily }));
    const supportTypes = (imageId, extra = {}) =>
      client.describeImageSupportInstanceTypes(
        new Ecs.DescribeImageSupportInstanceTypesRequest({ regionId: HZ, imageId, ...extra }));

    it('DescribeImageFromFamily returns the newest Available member', async () => {
      const cases = [
        ['acs:centos_7_9_x64', 'centos_7_9_x64_20G_alibase_20240321.vhd'],
        ['acs:ubuntu_16_04_x64', 'ubuntu_16_04_x64_20G_alibase_20221227.vhd'],
        ['acs:alibaba_cloud_linux_3_2104_lts_x64', 'aliyun_3_x64_20G_alibase_20241103.vhd'],
      ];
      for (const [family, newest] of cases) {
        assert.equal(cat.newestInFamily(HZ, family).id, newest);
        const resp = await fromFamily(family);
        assert.equal(resp.statusCode, 200);
        const img = resp.body.image;
        assert.equal(img.imageId, newest);
        assert.equal(img.imageFamily, family);
        assert.equal(img.creationTime, cat.image(newest).created);
        assert.equal(img.size, cat.image(newest).size_gib);
        assert.equal(img.status, 'Available');
        assert.equal(img.imageOwnerAlias, 'system');
      }
    });

    it('every public family resolves to its newest member', async () => {
      const families = [...new Set(cat.visible(HZ).map((i) => i.family))];
      assert.ok(families.length > 30);
      for (const family of families) {
        const resp = await fromFamily(family);
        assert.equal(resp.body.image.imageId, cat.newestInFamily(HZ, family).id, family);
      }
    });

    it('an unknown or unpublished family gives an empty Image', async () => {
      for (const [family, region] of [['acs:no_such_family', HZ], ['acs:rhel_6_9_x64', 'cn-shanghai']]) {
        assert.equal(cat.newestInFamily(region, family), null);
        const resp = await fromFamily(family, region);
        assert.equal(resp.statusCode, 200);
        assert.ok(resp.body.requestId);
        assert.equal(resp.body.image?.imageId, undefined);
      }
    });

    it('32-bit CentOS 6.8 is supported only on types under 4 GiB', async () => {
      const resp = await supportTypes(CENTOS_68_32);
      assert.equal(resp.body.imageId, CENTOS_68_32);
      assert.equal(resp.body.regionId, HZ);
      const types = resp.body.instanceTypes.instanceType;
      assert.ok(types.length > 0);
      for (const t of types) {
        assert.ok(t.memorySize < 4, `${t.instanceTypeId} has ${t.memorySize} GiB`);
        const c = cat.type(t.instanceTypeId);
        assert.equal(t.memorySize, c.memory);
        assert.equal(t.cpuCoreCount, c.cpu_core_count);
        assert.equal(t.instanceTypeFamily, c.family);
      }
      assert.deepEqual(types.map((t) => t.instanceTypeId), cat.supportedTypes(CENTOS_68_32).map((t) => t.id));
      assert.ok(types.some((t) => t.instanceTypeId === 'ecs.t5-lc2m1.nano'));
    });

    it('an arm64 image is supported only on arm64 types', async () => {
      const id = 'ubuntu_22_04_arm64_20G_alibase_20230712.vhd';
      const types = (await supportTypes(id)).body.instanceTypes.instanceType;
      assert.deepEqual(sorted(types.map((t) => t.instanceTypeId)),
        sorted(cat.types.filter((t) => t.architecture === 'arm64').map((t) => t.id)));
    });

    it('a UEFI Windows image follows the documented rules', async () => {
      const id = 'win2022_21H2_x64_dtc_zh-cn_40G_uefi_alibase_20260114.vhd';
      const types = (await supportTypes(id, { actionType: 'ChangeOS' })).body.instanceTypes.instanceType;
      assert.deepEqual(types.map((t) => t.instanceTypeId), cat.supportedTypes(id).map((t) => t.id));
    });

    it('maps errors to the documented codes', async () => {
      await rejectsWith(supportTypes('m-bp1doesnotexist0000'), 'InvalidImageId.NotFound', [404]);
      await rejectsWith(client.describeImages(new Ecs.DescribeImagesRequest({ regionId: HZ, pageSize: 101 })),
        'InvalidParameter', [400]);
      await rejectsWith(client.describeImages(new Ecs.DescribeImagesRequest({ regionId: HZ, OSType: 'solaris' })),
        'InvalidOSType', [404]);
      await rejectsWith(client.describeImages(new Ecs.DescribeImagesRequest({ regionId: HZ, instanceType: 'ecs.nope.large' })),
        'InvalidInstanceType.ValueNotSupported', [400]);
      await rejectsWith(client.describeImages(new Ecs.DescribeImagesRequest({ regionId: 'cn-nowhere' })),
        'InvalidRegionId.NotFound', [400, 404]);
      await rejectsWith(fromFamily('acs:centos_7_9_x64', 'cn-nowhere'), 'InvalidRegionId.NotFound', [400, 404]);
    });

    it('a wrong secret is SignatureDoesNotMatch; an unknown key is InvalidAccessKeyId.NotFound', async () => {
      const wrong = makeClient(server.endpoint, signature, 'testak', 'othersecret');
      await rejectsWith(wrong.describeRegions(new Ecs.DescribeRegionsRequest({})), 'SignatureDoesNotMatch', [400, 403]);
      const unknown = makeClient(server.endpoint, signature, 'nosuchak', 'testsecret');
      await rejectsWith(unknown.describeRegions(new Ecs.DescribeRegionsRequest({})), 'InvalidAccessKeyId.NotFound', [400, 404]);
    });

    it('the second account sees the public catalog and no images of its own', async () => {
      const other = makeClient(server.endpoint, signature, 'otherak', 'othersecret');
      const sys = await other.describeImages(new Ecs.DescribeImagesRequest({ regionId: HZ, imageOwnerAlias: 'system', pageSize: 100 }));
      assert.equal(sys.body.totalCount, cat.visible(HZ).length);
      const self = await other.describeImages(new Ecs.DescribeImagesRequest({ regionId: HZ, imageOwnerAlias: 'self' }));
      assert.equal(self.body.totalCount, 0);
      assert.deepEqual(self.body.images.image, []);
    });
  });
}
