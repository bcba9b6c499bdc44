// The VMA sample's fragment shader: the stripe texture (binding 1, as in the original) times the face colour.
// Alpha is the texture's, 0 everywhere: the swapchain composites opaquely and the headless PNG is written opaque.
#version 450

layout(binding = 1) uniform sampler2D stripes;

layout(location = 0) in vec3 vColor;
layout(location = 1) in vec2 vTexCoord;

layout(location = 0) out vec4 outColor;

void main() {
    vec4 texel = texture(stripes, vTexCoord);
    outColor = vec4(texel.rgb * vColor, texel.a);
}
