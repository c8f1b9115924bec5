// softwareRenderer decides, before gpu.js (~150 kB gzip) is downloaded, whether the page's graphics
// device is a CPU rasteriser: then the GPU modes are not worth measuring (STACK.md: 10x slower than a loop).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { graphicsDevice, softwareRenderer } from '../kernels/gpujs.js';

function fakeCanvas(renderer: string | null) {
  return class {
    getContext() {
      if (renderer === null) return null;
      return {
        RENDERER: 0x1f01,
        getExtension: (name: string) => (name === 'WEBGL_debug_renderer_info' ? { UNMASKED_RENDERER_WEBGL: 0x9246 } : null),
        getParameter: (p: number) => (p === 0x9246 ? renderer : 'WebKit WebGL'),
      };
    }
  };
}

afterEach(() => vi.unstubAllGlobals());

describe('softwareRenderer', () => {
  it('is null in Node, where there is no canvas to ask', () => {
    expect(softwareRenderer()).toBeNull();
  });
  it('names SwiftShader and llvmpipe, and not a hardware GPU or a missing WebGL', () => {
    vi.stubGlobal('OffscreenCanvas', fakeCanvas('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)'));
    expect(softwareRenderer()).toMatch(/SwiftShader/);
    vi.stubGlobal('OffscreenCanvas', fakeCanvas('llvmpipe (LLVM 15.0.6, 256 bits)'));
    expect(softwareRenderer()).toMatch(/llvmpipe/);
    vi.stubGlobal('OffscreenCanvas', fakeCanvas('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11)'));
    expect(softwareRenderer()).toBeNull();
    vi.stubGlobal('OffscreenCanvas', fakeCanvas(null));
    expect(softwareRenderer()).toBeNull();
  });
});

describe('graphicsDevice', () => {
  it('tells a hardware GPU from a software one and from no WebGL at all', () => {
    expect(graphicsDevice()).toEqual({ kind: 'none' });
    vi.stubGlobal('OffscreenCanvas', fakeCanvas('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11)'));
    expect(graphicsDevice()).toEqual({ kind: 'hardware' });
    vi.stubGlobal('OffscreenCanvas', fakeCanvas('llvmpipe (LLVM 15.0.6, 256 bits)'));
    expect(graphicsDevice()).toEqual({ kind: 'software', renderer: 'llvmpipe (LLVM 15.0.6, 256 bits)' });
    vi.stubGlobal('OffscreenCanvas', fakeCanvas(null));
    expect(graphicsDevice()).toEqual({ kind: 'none' });
  });
});
