// The defragmentation sample's quad: its texture, opaque.
#version 450

layout(binding = 0) uniform sampler2D quadTexture;

layout(location = 0) in vec2 vTexCoord;

layout(location = 0) out vec4 outColor;

void main() {
    outColor = vec4(texture(quadTexture, vTexCoord).rgb, 1.0);
}
